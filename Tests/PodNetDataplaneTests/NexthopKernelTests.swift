import Foundation
import Testing
import PodNet
import PodNetNetlink
import PodNetTestSupport
@testable import PodNetDataplane

/// IPv4 peer routes through one nexthop object per peer; IPv6 classic (RouteForm).
@Suite(.serialized) struct NexthopKernelTests {
    /// `ip -j nexthop show` and `ip -j route show`, as (id, gateway, dev, protocol) and
    /// (destination, nhid or gateway) lines.
    static func nexthops(_ lab: NodeLab) throws -> [String] {
        let rows = try JSONSerialization.jsonObject(with: Data(try lab.node.run(["ip", "-j", "nexthop", "show"]).utf8))
            as? [[String: Any]] ?? []
        return rows.map { row in
            "id \(row["id"] as? Int ?? -1) via \(row["gateway"] as? String ?? "-") dev \(row["dev"] as? String ?? "-") "
                + "proto \(row["protocol"] as? String ?? "-")"
        }.sorted()
    }

    static func routes(_ lab: NodeLab, _ family: String) throws -> [String] {
        let rows = try JSONSerialization.jsonObject(with: Data(try lab.node.run(["ip", family, "-j", "route", "show", "proto", "111"]).utf8))
            as? [[String: Any]] ?? []
        return rows.map { row in
            let via = (row["nhid"] as? Int).map { "nhid \($0)" } ?? "via \(row["gateway"] as? String ?? "-")"
            return "\(row["dst"] as? String ?? "?") \(via)"
        }.sorted()
    }

    /// The rtnetlink messages podnet sent (type, flags as strace prints them), from a trace of sendto.
    static func messages(inTrace path: String) throws -> [(type: Int, flags: String)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"nlmsg_type=0x([0-9a-f]+)[^,]*, nlmsg_flags=([^,]*)"#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            guard let type = Range(match.range(at: 1), in: text), let flags = Range(match.range(at: 2), in: text) else { return nil }
            return (Int(text[type], radix: 16) ?? -1, String(text[flags]))
        }
    }

    func traced(_ lab: NodeLab, _ arguments: [String]) throws -> (ProcessResult, [(type: Int, flags: String)]) {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-nexthop-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let result = try runProcess("/usr/bin/env", [
            "PODNET_LOCK_DIR=\(lab.lockDirectory)", "XTABLES_LOCKFILE=\(lab.xtablesLock)",
            "strace", "-f", "-qq", "-o", trace, "-e", "trace=sendto", PodNetBinary.path] + arguments + ["--netns", lab.node.name])
        return (result, try Self.messages(inTrace: trace))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func eachPeersIPv4RoutesUseItsNexthopAndIPv6StaysClassic() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let config = try configFile(nodeConfig(peers: 3))
        let (apply, sent) = try traced(lab, ["apply", "-f", config])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(try Self.nexthops(lab) == (2...4).map { peer in
            "id \(nexthopID(ofPeer: peer)) via 198.18.0.\(9 + peer) dev eth0 proto 111"
        }.sorted())
        #expect(try Self.routes(lab, "-4") == (2...4).map { "10.244.\($0).0/24 nhid \(nexthopID(ofPeer: $0))" })
        #expect(try Self.routes(lab, "-6") == (2...4).map { "fd00:10:244:\($0)::/64 via 2001:db8::\(String(9 + $0, radix: 16))" })
        // Nexthops (RTM_NEWNEXTHOP, 0x68) are created before the routes (RTM_NEWROUTE, 0x18) that use them.
        let writes = sent.map(\.type).filter { $0 == 0x68 || $0 == 0x18 }
        #expect(writes == [0x68, 0x68, 0x68] + Array(repeating: 0x18, count: 6), "\(writes)")
        #expect(try lab.podnet(["diff", "-f", config]).status == 0)
    }

    /// The whole point of a nexthop per peer: its node IP changing moves every route
    /// of that peer in one NLM_F_REPLACE of the nexthop, without a route write.
    @Test(.enabled(if: KernelTest.enabled))
    func aPeerWhoseNodeIPChangesIsOneNexthopReplace() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        // Peer node-7's IPv6 node IP would be the node's own 2001:db8::10.
        let peers = nodeConfig(peers: 20).replacingOccurrences(of: "\"2001:db8::10\"", with: "\"2001:db8::1:10\"")
        let before = try configFile(peers)
        let first = try lab.podnet(["apply", "-f", before])
        #expect(first.status == 0, "\(first.stderr)")
        let routesBefore = try Self.routes(lab, "-4")
        let after = try configFile(peers.replacingOccurrences(of: "[198.18.0.15,", with: "[198.18.0.115,"))

        let diff = try lab.podnet(["diff", "-f", after])
        #expect(diff.stdout == """
            # nexthops
            ~ ip nexthop replace id \(nexthopID(ofPeer: 6)) via 198.18.0.115 dev eth0 proto 111   # was via 198.18.0.15 dev eth0
            Plan: 1 nexthop change.

            """, "\(diff.stdout)")
        let (apply, sent) = try traced(lab, ["apply", "-f", after])
        #expect(apply.status == 0, "\(apply.stderr)")
        let writes = sent.filter { [0x68, 0x69, 0x18, 0x19].contains($0.type) }
        #expect(writes.count == 1 && writes.first?.type == 0x68, "\(writes)")
        // NLM_F_REQUEST|NLM_F_ACK with NLM_F_REPLACE|NLM_F_CREATE (0x500), which strace prints in hex.
        #expect(writes.first?.flags.contains("0x500") == true, "\(writes)")
        #expect(try Self.routes(lab, "-4") == routesBefore, "the routes keep their nexthop id")
        #expect(try lab.routesShown(["proto", "111"]).contains("10.244.6.0/24 via 198.18.0.115 dev eth0"))
        #expect(try lab.podnet(["diff", "-f", after]).status == 0)
    }

    /// Another program's nexthop on the id podnet derives for a peer, and its route using
    /// it: podnet takes the next id, and neither the foreign nexthop nor its route is
    /// touched by apply, a peer's removal or teardown.
    @Test(.enabled(if: KernelTest.enabled))
    func foreignNexthopsAndTheirRoutesAreNeverTouched() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let taken = nexthopID(ofPeer: 2)
        try lab.node.run(["ip", "nexthop", "add", "id", String(taken), "via", "198.18.0.1", "dev", "eth0", "proto", "static"])
        try lab.node.run(["ip", "route", "add", "203.0.113.0/24", "nhid", String(taken), "proto", "static"])
        let foreign = "id \(taken) via 198.18.0.1 dev eth0 proto static"
        let config = try configFile(nodeConfig(peers: 2))

        let apply = try lab.podnet(["apply", "-f", config])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout.contains("+ ip nexthop add id \(taken + 1) via 198.18.0.11 dev eth0 proto 111"), "\(apply.stdout)")
        #expect(try Self.nexthops(lab).contains(foreign))
        #expect(try Self.routes(lab, "-4") == ["10.244.2.0/24 nhid \(taken + 1)", "10.244.3.0/24 nhid \(nexthopID(ofPeer: 3))"])
        #expect(try lab.podnet(["diff", "-f", config]).status == 0)

        // Peers go away: podnet's nexthops go with their routes, the foreign one stays.
        let none = try lab.podnet(["apply", "-f", try configFile(nodeConfig(peers: 0))])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(try Self.nexthops(lab) == [foreign])
        #expect(try lab.node.run(["ip", "route", "show", "203.0.113.0/24"]).contains("nhid \(taken)"))

        #expect(try lab.podnet(["apply", "-f", config]).status == 0)
        let teardown = try lab.podnet(["teardown"])
        #expect(teardown.status == 0, "\(teardown.stderr)")
        #expect(teardown.stdout.contains("- ip nexthop del id \(taken + 1)   # via 198.18.0.11 dev eth0"), "\(teardown.stdout)")
        #expect(try Self.nexthops(lab) == [foreign])
        #expect(try Self.routes(lab, "-4").isEmpty)
        #expect(try lab.node.run(["ip", "route", "show", "203.0.113.0/24"]).contains("nhid \(taken)"))
        #expect(try lab.podnet(["teardown", "--dry-run"]).status == 0, "a second teardown has nothing to do")
    }

    /// A kernel without nexthop objects refuses every nexthop message with EOPNOTSUPP
    /// (`NexthoplessKernel` answers so): the nexthop dump tells podnet, and every route goes
    /// in the classic form. On a kernel with them the next apply moves the routes into the
    /// nexthop form in one run, and back.
    @Test(.enabled(if: KernelTest.enabled))
    func aKernelWithoutNexthopObjectsGetsClassicRoutesAndTheFormsConvergeEitherWay() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let (config, desired) = try desiredState(nodeConfig(peers: 3))
        var nexthopless = lab.dataplane
        nexthopless.sessions = NetlinkSessions(transport: { NexthoplessKernel($0) })
        let ownership = Ownership(config)

        let classic = try nexthopless.apply(desired, ownership: ownership)
        #expect(classic.executed.nexthops.isEmpty)
        #expect(classic.executed.routes.count == 6)
        #expect(try Self.nexthops(lab).isEmpty)
        #expect(try Self.routes(lab, "-4") == ["10.244.2.0/24 via 198.18.0.11", "10.244.3.0/24 via 198.18.0.12",
                                               "10.244.4.0/24 via 198.18.0.13"])
        #expect(try nexthopless.plan(desired, ownership: ownership).isEmpty)

        // This kernel has them: one apply moves each IPv4 route onto its peer's nexthop.
        let moved = try lab.dataplane.apply(desired, ownership: ownership)
        #expect(moved.executed.nexthops.count == 3)
        #expect(moved.executed.routes.map(\.commandText) == (2...4).map {
            "ip route replace 10.244.\($0).0/24 nhid \(nexthopID(ofPeer: $0)) proto 111"
        })
        #expect(try Self.routes(lab, "-4") == (2...4).map { "10.244.\($0).0/24 nhid \(nexthopID(ofPeer: $0))" })
        #expect(try lab.dataplane.plan(desired, ownership: ownership).isEmpty)

        // And back to classic routes in one apply, as after a move to an older kernel.
        let back = try nexthopless.apply(desired, ownership: ownership)
        #expect(back.executed.routes.count == 3)
        #expect(try Self.routes(lab, "-4") == ["10.244.2.0/24 via 198.18.0.11", "10.244.3.0/24 via 198.18.0.12",
                                               "10.244.4.0/24 via 198.18.0.13"])
        #expect(try nexthopless.plan(desired, ownership: ownership).isEmpty)
    }
}

/// The kernel's socket with rtnetlink's nexthop messages (RTM_NEWNEXTHOP, DELNEXTHOP,
/// GETNEXTHOP) answered as a kernel before 5.3 answers them: an NLMSG_ERROR of
/// -EOPNOTSUPP each, the request never reaching this kernel.
final class NexthoplessKernel: NetlinkTransport {
    private let socket: NetlinkSocket
    private var answers: [[UInt8]] = []

    init(_ socket: NetlinkSocket) { self.socket = socket }

    func send(_ datagram: [UInt8]) throws(NetlinkError) {
        var forwarded: [UInt8] = []
        var offset = 0
        while offset + 16 <= datagram.count {
            let length = Int(datagram.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) })
            let type = datagram.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self) }
            let message = Array(datagram[offset..<offset + length])
            if (104...106).contains(type) {
                // struct nlmsgerr { int error; struct nlmsghdr msg; }, NLM_F_CAPPED (0x100).
                var answer = [UInt8](repeating: 0, count: 36)
                answer.withUnsafeMutableBytes { bytes in
                    bytes.storeBytes(of: UInt32(36), toByteOffset: 0, as: UInt32.self)
                    bytes.storeBytes(of: UInt16(2), toByteOffset: 4, as: UInt16.self)
                    bytes.storeBytes(of: UInt16(0x100), toByteOffset: 6, as: UInt16.self)
                    bytes.storeBytes(of: -EOPNOTSUPP, toByteOffset: 16, as: Int32.self)
                }
                answer.replaceSubrange(8..<12, with: message[8..<12])
                answer.replaceSubrange(20..<36, with: message[0..<16])
                answers.append(answer)
            } else {
                forwarded += message
            }
            offset += (length + 3) & ~3
        }
        if !forwarded.isEmpty { try socket.send(forwarded) }
    }

    func receive() throws(NetlinkError) -> [UInt8] {
        answers.isEmpty ? try socket.receive() : answers.removeFirst()
    }

    func receiveQueued() throws(NetlinkError) -> [UInt8]? {
        answers.isEmpty ? try socket.receiveQueued() : answers.removeFirst()
    }
}
