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

    /// Acknowledgements dropped by a receive buffer too small for a chunk's (ENOBUFS)
    /// are settled by reading the nexthops again; the off-link gateway is refused with
    /// the kernel's reason, and the dump (many datagrams) reads every nexthop back.
    @Test(.enabled(if: KernelTest.enabled))
    func lostAcknowledgementsOfNexthopWritesAreSettledByRereading() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let (link, nexthops, offLink) = try Self.setUp(ns)
        let socket = try NetlinkSocket(namespace: ns.namespace, receiveBufferBytes: 1024)
        let netlink = Netlink(transport: socket, chunkBytes: 60 * 1024)

        let result = try netlink.writeNexthops((nexthops + [offLink]).map { .add($0) })
        #expect(result.reread)
        #expect(Set(result.applied) == Set(nexthops.map { .add($0) }))
        #expect(result.failed.map(\.operation) == [.add(offLink)])
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
