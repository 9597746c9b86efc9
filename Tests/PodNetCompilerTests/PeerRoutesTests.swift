import Testing
import PodNet
import PodNetTestSupport
@testable import PodNetCompiler

/// One peer compiled alone (`Compiler.peerChange`) against the full compile of the config
/// after the change: the same routes and nexthops, ids included, or nil.
@Suite struct PeerRoutesTests {
    enum Kind: String, CaseIterable {
        case nodeIP, podCIDRs, add, remove
    }

    /// Peer names whose IPv4 owners' derived ids lie within 1 of another's: where the linear
    /// probing of `NexthopIDs.assign` moves ids (among 2^32 ids, random names almost never meet).
    static let crowdedNames: [[String]] = {
        // Random names: FNV-1a spreads names that differ only in a counter too evenly to collide.
        var random = SplitMix(seed: 0x5EED)
        var hashed = (0..<400_000).map { _ -> (UInt32, String) in
            let name = "node-" + String(random.next(), radix: 16)
            return (NexthopIDs.derived(NexthopOwner(peer: name, family: .ipv4)), name)
        }
        hashed.sort { $0.0 < $1.0 }
        var groups: [[String]] = []
        var index = 0
        while index + 1 < hashed.count {
            var end = index + 1
            while end < hashed.count, hashed[end].0 - hashed[end - 1].0 <= 1 { end += 1 }
            if end - index > 1 { groups.append(hashed[index..<end].map(\.1)) }
            index = end
        }
        return groups
    }()

    struct World {
        var random: SplitMix
        var peers: [Peer] = []
        var nextIndex = 2

        /// A peer of its own pod CIDRs and node IPs (their numbers never reused).
        mutating func peer(named name: String) -> Peer {
            let index = nextIndex
            nextIndex += 1
            return Peer(name: name,
                        nodeIPs: [IPAddress(ipv4: 0xC612_0000 + UInt32(index)), IPAddress(ipv6: 0x2001_0db8_0000_0000, UInt64(index))],
                        podCIDRs: [IPNetwork(network: IPAddress(ipv4: 0x0A00_0000 + UInt32(index) << 8), prefixLength: 24),
                                   IPNetwork(network: IPAddress(ipv6: 0xfd00_0010_0000_0000 | UInt64(index), 0), prefixLength: 64)])
        }

        mutating func name() -> String {
            // A quarter of them from a crowded group that already has members here.
            if Int.random(in: 0..<4, using: &random) == 0,
               let group = PeerRoutesTests.crowdedNames.filter({ group in
                   group.contains { name in peers.contains { $0.name == name } }
               }).randomElement(using: &random),
               let name = group.first(where: { name in !peers.contains { $0.name == name } }) {
                return name
            }
            return "node-\(random.next() % 1_000_000)-\(nextIndex)"
        }
    }

    @Test func onePeerCompiledAloneIsTheFullCompilesPart() throws {
        #expect(Self.crowdedNames.count > 20, "\(Self.crowdedNames.count) crowded groups")
        var world = World(random: SplitMix(seed: 0x9EE7))
        var tried: [Kind: Int] = [:], refused: [Kind: Int] = [:]
        for trial in 0..<400 {
            world.peers = []
            for _ in 0..<Int.random(in: 5...40, using: &world.random) {
                world.peers.append(world.peer(named: world.name()))
            }
            // Crowded groups, some whole (their owners bump each other), some in part (the
            // names added later may join them).
            for whole in [true, true, false, false, false] {
                let group = Self.crowdedNames.randomElement(using: &world.random)!
                for name in whole ? group[...] : group.dropLast() where !world.peers.contains(where: { $0.name == name }) {
                    world.peers.insert(world.peer(named: name), at: Int.random(in: 0...world.peers.count, using: &world.random))
                }
            }
            let before = TestConfigs.node(peers: world.peers)
            let desired = try Compiler.compile(before)
            for kind in Kind.allCases {
                var peers = world.peers
                let old: Peer?, new: Peer?
                let index = Int.random(in: 0..<peers.count, using: &world.random)
                switch kind {
                case .nodeIP:
                    var moved = peers[index]
                    moved.nodeIPs[0] = IPAddress(ipv4: 0xC613_0000 + UInt32(trial))
                    (old, new) = (peers[index], moved)
                    peers[index] = moved
                case .podCIDRs:
                    var moved = peers[index]
                    moved.podCIDRs = world.peer(named: moved.name).podCIDRs
                    (old, new) = (peers[index], moved)
                    peers[index] = moved
                case .add:
                    let added = world.peer(named: world.name())
                    (old, new) = (nil, added)
                    peers.insert(added, at: Int.random(in: 0...peers.count, using: &world.random))
                case .remove:
                    // Half the time a crowded one, which may have bumped another or been bumped.
                    let crowded = Set(Self.crowdedNames.joined())
                    let index = Bool.random(using: &world.random)
                        ? peers.indices.filter { crowded.contains(peers[$0].name) }.randomElement(using: &world.random) ?? index
                        : index
                    (old, new) = (peers[index], nil)
                    peers.remove(at: index)
                }
                let after = TestConfigs.node(peers: peers)
                let full = try Compiler.compile(after)
                tried[kind, default: 0] += 1
                guard let change = try Compiler.peerChange(from: old, to: new, desired: desired, config: after) else {
                    refused[kind, default: 0] += 1
                    continue
                }
                var state = desired
                change.apply(to: &state)
                #expect(state.routes == full.routes, "trial \(trial) \(kind)")
                #expect(state.nexthops == full.nexthops, "trial \(trial) \(kind)")
                #expect(Set(change.newRoutes).isSubset(of: full.routes), "trial \(trial) \(kind)")
                #expect(Set(change.newNexthops).isSubset(of: full.nexthops), "trial \(trial) \(kind)")
                #expect(Set(change.oldRoutes).isSubset(of: desired.routes), "trial \(trial) \(kind)")
            }
        }
        for kind in Kind.allCases {
            print("peerChange \(kind): nil for \(refused[kind] ?? 0) of \(tried[kind] ?? 0)")
        }
        // A changed node IP or pod CIDR keeps the peer's owners, and their ids.
        #expect(refused[.nodeIP] == nil)
        #expect(refused[.podCIDRs] == nil)
        // A quarter of the names added are crowded, so refusals are frequent here, not on a cluster.
        #expect((refused[.add] ?? 0) < (tried[.add] ?? 0) / 2)
        #expect((refused[.remove] ?? 0) < (tried[.remove] ?? 0) / 2)
    }

    /// A new owner whose derived id another holds would take the next free one, and a
    /// removed owner that another was bumped past would let it move down: both nil.
    @Test func crowdedIDsAreLeftToTheFullCompile() throws {
        let group = try #require(Self.crowdedNames.first { group in
            group.count == 2 && NexthopIDs.derived(NexthopOwner(peer: group[0], family: .ipv4))
                == NexthopIDs.derived(NexthopOwner(peer: group[1], family: .ipv4))
        })
        var world = World(random: SplitMix(seed: 1))
        let first = world.peer(named: group[0]), second = world.peer(named: group[1])
        let alone = try Compiler.compile(TestConfigs.node(peers: [first]))
        #expect(try Compiler.peerChange(from: nil, to: second, desired: alone, config: TestConfigs.node(peers: [first, second])) == nil)
        let both = try Compiler.compile(TestConfigs.node(peers: [first, second]))
        let bumped = both.nexthops.contains { $0.id != NexthopIDs.derived($0.owner) }
        #expect(bumped)
        // The one placed first goes: the other was bumped past its id.
        let placedFirst = both.nexthops.first { $0.id == NexthopIDs.derived($0.owner) }!.owner.peer
        let (gone, staying) = placedFirst == first.name ? (first, second) : (second, first)
        #expect(try Compiler.peerChange(from: gone, to: nil, desired: both, config: TestConfigs.node(peers: [staying])) == nil)
        // The bumped one goes: nobody was bumped past its id.
        let change = try #require(try Compiler.peerChange(from: staying, to: nil, desired: both,
                                                            config: TestConfigs.node(peers: [gone])))
        var state = both
        change.apply(to: &state)
        #expect(state.nexthops == (try Compiler.compile(TestConfigs.node(peers: [gone]))).nexthops)
    }
}
