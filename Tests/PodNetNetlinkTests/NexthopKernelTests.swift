import Testing
import PodNet
import PodNetSystem
import PodNetTestSupport
@testable import PodNetNetlink
#if canImport(Glibc)
import Glibc
#endif

@Suite struct NexthopNetlinkKernelTests {
    /// 2,000 nexthops (gateways in 192.168.8.0/21 on one link), and one off-link.
    static func setUp(_ ns: TestNamespace) throws -> (link: LinkReference, nexthops: [NexthopState], offLink: NexthopState) {
        try makeUplink(in: ns)
        try runCommand(["ip", "-n", ns.name, "addr", "add", "192.168.8.1/21", "dev", "up0"])
        let index = try #require(try Netlink(namespace: ns.namespace).link(named: "up0")).index
        let link = LinkReference(index: index, name: "up0")
        let nexthops = (0..<2000).map { offset in
            NexthopState(id: 1000 + UInt32(offset), gateway: IPAddress(ipv4: 0xC0A8_0800 | UInt32(offset + 2)), link: link, proto: 111)
        }
        let offLink = NexthopState(id: 9, gateway: IPAddress("10.99.0.1")!, link: link, proto: 111)
        return (link, nexthops, offLink)
    }

    /// Nexthops the kernel refuses (their gateway is on no link), with ids of their own.
    static func offLink(_ count: Int, _ link: LinkReference) -> [NexthopState] {
        (0..<count).map { NexthopState(id: 100 + UInt32($0), gateway: IPAddress("10.99.0.1")!, link: link, proto: 111) }
    }

    /// Answers dropped by a receive buffer too small for a chunk's (ENOBUFS: 100 refusals
    /// overrun it) are settled by reading the nexthops again; the off-link gateways are
    /// refused, and the dump (many datagrams) reads every nexthop back.
    @Test(.enabled(if: KernelTest.enabled))
    func lostAcknowledgementsOfNexthopWritesAreSettledByRereading() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let (link, nexthops, _) = try Self.setUp(ns)
        let offLink = Self.offLink(100, link)
        let socket = try NetlinkSocket(namespace: ns.namespace, receiveBufferBytes: 1024)
        let netlink = Netlink(transport: socket, chunkBytes: 60 * 1024)

        let result = try netlink.writeNexthops((nexthops + offLink).map { .add($0) })
        #expect(result.reread)
        #expect(Set(result.applied) == Set(nexthops.map { .add($0) }))
        #expect(Set(result.failed.map(\.operation)) == Set(offLink.map { .add($0) }))
        let shown = try ipJSON(ns, ["nexthop", "show", "proto", "111"])
        #expect(shown.count == nexthops.count)

        let observed = try Netlink(namespace: ns.namespace).observeRoutes(desired: [], proto: 111, table: 254)
        #expect(observed.nexthops == nexthops)
        #expect(observed.onLinkPrefixes.contains(OnLinkPrefix(prefix: try IPNetwork(parsing: "192.168.8.0/21"), link: link)))
        #expect(observed.nexthopsSupported)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func aNexthopOnAnOffLinkGatewayIsRefusedWithTheKernelsReason() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let (_, nexthops, offLink) = try Self.setUp(ns)
        let netlink = try Netlink(namespace: ns.namespace)
        let result = try netlink.writeNexthops([.add(nexthops[0]), .add(offLink), .add(nexthops[1])])
        #expect(result.applied == [.add(nexthops[0]), .add(nexthops[1])])
        #expect(!result.reread)
        let refused = try #require(result.failed.first)
        guard case .kernel(let reason) = refused.reason else {
            Issue.record("expected the kernel's reason, got \(refused.reason)")
            return
        }
        #expect(reason.errno == ENETUNREACH)
        #expect(reason.message == "Nexthop has invalid gateway")

        // Replaced in place and deleted again: what `ip` shows follows.
        var moved = nexthops[0]
        moved.gateway = IPAddress("192.168.1.77")!
        #expect(try netlink.writeNexthops([.replace(old: nexthops[0], new: moved), .delete(nexthops[1])]).failed.isEmpty)
        let shown = try ipJSON(ns, ["nexthop", "show", "proto", "111"])
        #expect(shown.map { "\($0["id"] as? Int ?? 0) \($0["gateway"] as? String ?? "-")" } == ["1000 192.168.1.77"])
    }
}

/// podnet's nexthop and route messages against what this machine's iproute2 sends for the
/// same commands, read from `strace -e trace=sendmsg -xx` (the header as strace decodes it,
/// the rest as bytes), in a namespace where the commands succeed.
@Suite struct NexthopMessagesAgainstIpKernelTests {
    /// The last netlink request `ip ARGS` sent: its type, flags and the bytes after the header.
    static func lastRequest(_ ns: TestNamespace, _ arguments: [String]) throws -> (type: UInt16, flags: UInt16, payload: [UInt8]) {
        let traced = try runProcess("/usr/bin/env", ["strace", "-f", "-qq", "-e", "trace=sendmsg", "-xx",
                                                    "ip", "-n", ns.name] + arguments)
        #expect(traced.status == 0, "\(traced.stderr)")
        let line = try #require(traced.stderr.split(separator: "\n").last { $0.contains("nlmsg_type=") && $0.contains("NLM_F_ACK") })
        func after(_ key: String) -> Substring { line[line.range(of: key)!.upperBound...] }
        let type = UInt16(after("nlmsg_type=0x").prefix { $0.isHexDigit }, radix: 16) ?? 0
        // strace names the flags it knows and prints the rest in hex: REQUEST 0x1, ACK 0x4.
        var flags: UInt16 = 0
        for flag in after("nlmsg_flags=").prefix { $0 != "," }.split(separator: "|") {
            switch flag {
            case "NLM_F_REQUEST": flags |= 0x1
            case "NLM_F_ACK": flags |= 0x4
            default: flags |= UInt16(flag.dropFirst(2), radix: 16) ?? 0xFFFF
            }
        }
        let quoted = after("}, \"").prefix { $0 != "\"" }
        let payload = quoted.split(separator: "\\", omittingEmptySubsequences: true).map { UInt8($0.dropFirst(), radix: 16)! }
        return (type, flags, payload)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func podnetSendsWhatIpSends() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        let index = try #require(try Netlink(namespace: ns.namespace).link(named: "up0")).index
        let nexthop = NexthopState(id: 7, gateway: IPAddress("192.168.1.2")!, link: LinkReference(index: index, name: "up0"),
                                   proto: 111)
        var moved = nexthop
        moved.gateway = IPAddress("192.168.1.3")!
        let route = RouteState(destination: try IPNetwork(parsing: "10.9.0.0/24"), via: .nexthop(id: 7), table: 254, proto: 111)
        let cases: [([String], NetlinkMessage)] = [
            (["nexthop", "add", "id", "7", "via", "192.168.1.2", "dev", "up0", "proto", "111"], NexthopMessages.write(.add(nexthop))),
            (["nexthop", "replace", "id", "7", "via", "192.168.1.3", "dev", "up0", "proto", "111"],
             NexthopMessages.write(.replace(old: nexthop, new: moved))),
            (["route", "add", "10.9.0.0/24", "nhid", "7", "proto", "111"], RouteMessages.write(route, .add)),
            (["route", "del", "10.9.0.0/24", "nhid", "7", "proto", "111"], RouteMessages.write(route, .delete)),
            (["nexthop", "del", "id", "7"], NexthopMessages.write(.delete(moved))),
        ]
        for (arguments, message) in cases {
            let sent = try Self.lastRequest(ns, arguments)
            #expect(sent.type == message.type, "\(arguments)")
            #expect(sent.flags == message.flags, "\(arguments)")
            var ours = Array(message.payload), theirs = sent.payload
            if message.type == 24 || message.type == 25 {
                // podnet names the table in RTA_TABLE too (8 bytes after rtmsg), as for classic routes.
                ours.removeSubrange(12..<20)
            }
            if message.type == 25 {
                // `ip route del` asks for any scope and type (RT_SCOPE_NOWHERE, RTN_UNSPEC);
                // podnet names the unicast route of universe scope it made, as for classic routes.
                #expect(theirs[6...7] == [0xff, 0x00] && ours[6...7] == [0x00, 0x01])
                theirs.replaceSubrange(6...7, with: ours[6...7])
            }
            #expect(hexText(theirs) == hexText(ours), "\(arguments)")
        }
    }
}
