import Foundation
import Testing
import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetTestSupport
@testable import PodNetDataplane

/// One peer's Node event applied alone (`Compiler.peerChange`, `applyPeerChange`) after a
/// full apply: the node ends where a full apply of the config after it would, by the full
/// dry run and by `ip`, and another's nexthop and route stay as they were.
@Suite(.serialized) struct PeerChangeKernelTests {
    /// Peer `index`'s node IPs on the lab's underlay (198.19.0.0/16 added to it) and pod CIDRs.
    static func peer(_ index: Int, name: String? = nil) -> Peer {
        Peer(name: name ?? "peer-\(index)",
             nodeIPs: [IPAddress("198.19.\(index / 250).\(index % 250 + 1)")!, IPAddress("2001:db8::1:\(String(index, radix: 16))")!],
             podCIDRs: [try! IPNetwork(parsing: "10.\(200 + index / 256).\(index % 256).0/24"),
                        try! IPNetwork(parsing: "fd00:20:0:\(String(index, radix: 16))::/64")])
    }

    /// `ip -j nexthop show id N` as (gateway, dev, protocol).
    static func nexthop(_ lab: NodeLab, id: UInt32) throws -> String {
        let rows = try JSONSerialization.jsonObject(with: Data(try lab.node.run(["ip", "-j", "nexthop", "show", "id", String(id)]).utf8))
            as? [[String: Any]] ?? []
        return rows.map { "id \($0["id"] as? Int ?? -1) via \($0["gateway"] as? String ?? "-") dev \($0["dev"] as? String ?? "-")" }
            .joined(separator: "; ")
    }

    static func foreignObjects(_ lab: NodeLab) throws -> String {
        try lab.node.run(["ip", "nexthop", "show", "id", "7"]) + (try lab.node.run(["ip", "route", "show", "10.250.0.0/24"]))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func aPeersNodeEventAppliedAloneEndsWhereAFullApplyWould() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        try lab.node.run(["ip", "addr", "add", "198.19.255.254/16", "dev", "eth0"])
        var config = try ConfigLoader.load(configText: labNode, configName: "peers.yaml").config
        config.peers = (0..<300).map { Self.peer($0) }
        let ownership = Ownership(config)
        let dataplane = lab.dataplane
        var desired = try Compiler.compile(config)
        _ = try dataplane.apply(desired, ownership: ownership)
        // Another's nexthop and a route through it: no step may touch them.
        try lab.node.run(["ip", "nexthop", "add", "id", "7", "via", "198.18.0.1", "dev", "eth0", "proto", "static"])
        try lab.node.run(["ip", "route", "add", "10.250.0.0/24", "nhid", "7", "proto", "static"])
        let foreign = try Self.foreignObjects(lab)
        #expect(foreign.contains("id 7 via 198.18.0.1") && foreign.contains("10.250.0.0/24 nhid 7"), "\(foreign)")
        let context = try dataplane.peerRouteContext(ownership: ownership)
        #expect(context.foreignNexthopIDs == [7])

        /// The event from `old` to `new`: applied alone, then checked against the full compile and the dry run.
        func event(_ old: Peer?, _ new: Peer?) throws -> Plan {
            var after = config
            if let old { after.peers.removeAll { $0.name == old.name } }
            if let new { after.peers.append(new) }
            let full = try Compiler.compile(after)
            let change = try #require(try Compiler.peerChange(from: old, to: new, desired: desired, config: after))
            var next = desired
            let result = try #require(try dataplane.applyPeerChange(change, to: &next, context: context, ownership: ownership))
            #expect(next.routes == full.routes)
            #expect(next.nexthops == full.nexthops)
            #expect(!result.executed.hasRefusals, "\(result.executed.refusedRoutes) \(result.executed.refusedNexthops)")
            let rest = try dataplane.plan(full, ownership: ownership)
            #expect(rest.isEmpty, "\(rest.routes) \(rest.nexthops) \(rest.conflicts)")
            #expect(try Self.foreignObjects(lab) == foreign)
            (config, desired) = (after, next)
            return result.executed
        }

        // A node IP changed: one nexthop replace, its id kept, the routes untouched.
        let moved = Self.peer(10)
        var movedAfter = moved
        movedAfter.nodeIPs[0] = IPAddress("198.19.200.10")!
        let id = try #require(desired.nexthops.first { $0.owner.peer == moved.name }?.id)
        let nodeIP = try event(moved, movedAfter)
        #expect(nodeIP.routes.isEmpty)
        #expect(nodeIP.nexthops.map(\.commandText) == ["ip nexthop replace id \(id) via 198.19.200.10 dev eth0 proto 111"],
                "\(nodeIP.nexthops.map(\.commandText))")
        #expect(try Self.nexthop(lab, id: id) == "id \(id) via 198.19.200.10 dev eth0")

        // Pod CIDRs changed: that peer's routes go and come, through its nexthop as before.
        let renumbered = Self.peer(20)
        var renumberedAfter = renumbered
        renumberedAfter.podCIDRs = [try IPNetwork(parsing: "10.210.0.0/24"), try IPNetwork(parsing: "fd00:20:1::/64")]
        let cidrs = try event(renumbered, renumberedAfter)
        #expect(cidrs.nexthops.isEmpty)
        #expect(cidrs.routes.map(\.commandText).sorted().count == 4, "\(cidrs.routes.map(\.commandText))")
        let renumberedID = try #require(desired.nexthops.first { $0.owner.peer == renumbered.name }?.id)
        #expect(try lab.node.run(["ip", "route", "show", "10.210.0.0/24"]).contains("nhid \(renumberedID)"))
        #expect(try lab.node.run(["ip", "route", "show", "10.200.20.0/24"]).isEmpty)

        // A peer added: its nexthop, then its routes.
        let added = Self.peer(400)
        let add = try event(nil, added)
        let addedID = try #require(desired.nexthops.first { $0.owner.peer == added.name }?.id)
        #expect(add.nexthops.map(\.commandText) == ["ip nexthop add id \(addedID) via \(added.nodeIPs[0]) dev eth0 proto 111"])
        #expect(add.routes.count == 2)
        #expect(try Self.nexthop(lab, id: addedID) == "id \(addedID) via \(added.nodeIPs[0]) dev eth0")

        // A peer removed: its routes, then its nexthop.
        let removed = Self.peer(30)
        let removedID = try #require(desired.nexthops.first { $0.owner.peer == removed.name }?.id)
        let remove = try event(removed, nil)
        #expect(remove.routes.count == 2)
        #expect(remove.nexthops.map(\.commandText) == ["ip nexthop del id \(removedID)   # via \(removed.nodeIPs[0]) dev eth0"])
        #expect(!(try lab.node.run(["ip", "nexthop", "show"]).contains("id \(removedID) ")))

        // A peer wanting the destination another's route holds: left to the full apply, which
        // reports the conflict; nothing written.
        var squatter = Self.peer(401)
        squatter.podCIDRs[0] = try IPNetwork(parsing: "10.250.0.0/24")
        var after = config
        after.peers.append(squatter)
        let change = try #require(try Compiler.peerChange(from: nil, to: squatter, desired: desired, config: after))
        var unchanged = desired
        #expect(try dataplane.applyPeerChange(change, to: &unchanged, context: context, ownership: ownership) == nil)
        #expect(unchanged == desired)

        // Another's route the lookup does not find (a more specific one of its own holds the
        // first address): the executor's read before the write finds it, and the event fails
        // as a full apply would, its nexthop add undone, the routes untouched.
        try lab.node.run(["ip", "route", "add", "10.252.0.0/24", "via", "198.18.0.1", "proto", "static"])
        try lab.node.run(["ip", "route", "add", "10.252.0.0/25", "via", "198.18.0.1", "proto", "static"])
        let hidden = try lab.node.run(["ip", "route", "show", "root", "10.252.0.0/24"])
        var hider = Self.peer(402)
        hider.podCIDRs[0] = try IPNetwork(parsing: "10.252.0.0/24")
        var hiderConfig = config
        hiderConfig.peers.append(hider)
        let hiding = try #require(try Compiler.peerChange(from: nil, to: hider, desired: desired, config: hiderConfig))
        #expect(throws: ApplyFailure.self) {
            try dataplane.applyPeerChange(hiding, to: &unchanged, context: context, ownership: ownership)
        }
        #expect(unchanged == desired)
        #expect(try lab.node.run(["ip", "route", "show", "root", "10.252.0.0/24"]) == hidden)
        #expect(try dataplane.plan(desired, ownership: ownership).isEmpty)
        #expect(try Self.foreignObjects(lab) == foreign)
        #expect(try dataplane.plan(desired, ownership: ownership).isEmpty)
    }
}
