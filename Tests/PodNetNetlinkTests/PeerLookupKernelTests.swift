import Testing
import PodNet
import PodNetSystem
import PodNetTestSupport
@testable import PodNetNetlink

/// The reads one peer's Node event makes instead of the dumps: nexthops by id, routes by
/// destination (`fibMatch`, falling back to the table's dump where it proves nothing),
/// against what the dumps find of the same objects.
@Suite struct PeerLookupKernelTests {
    static func key(_ destination: String) -> RouteKey {
        RouteKey(table: 254, destination: try! IPNetwork(parsing: destination))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func routesOnKeysAreWhatTheDumpHoldsOnThem() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        for route in [
            ["10.1.2.0/24", "via", "192.168.1.2", "proto", "111"],
            ["10.1.3.0/24", "via", "192.168.1.3", "proto", "static"],
            // podnet's /24 under another's more specific /25: the lookup finds the /25.
            ["10.1.4.0/24", "via", "192.168.1.2", "proto", "111"],
            ["10.1.4.0/25", "via", "192.168.1.4", "proto", "static"],
            // Another's route beside podnet's, of a worse metric: the lookup finds podnet's.
            ["10.1.5.0/24", "via", "192.168.1.2", "proto", "111"],
            ["10.1.5.0/24", "via", "192.168.1.5", "proto", "static", "metric", "100"],
        ] {
            try ns.run(["ip", "route", "add"] + route)
        }
        try ns.run(["ip", "-6", "route", "add", "fd10::/64", "via", "fd00::2", "proto", "111"])
        let netlink = try Netlink(namespace: ns.namespace)

        let exact = try #require(try netlink.fibMatch(IPAddress("10.1.2.0")!))
        #expect(exact.key == Self.key("10.1.2.0/24") && exact.proto == 111 && exact.gateway == IPAddress("192.168.1.2"))
        let exact6 = try #require(try netlink.fibMatch(IPAddress("fd10::")!))
        #expect(exact6.key == Self.key("fd10::/64") && exact6.proto == 111)
        #expect(try netlink.fibMatch(IPAddress("10.1.4.0")!)?.key == Self.key("10.1.4.0/25"))
        // Nothing at all for it (the namespace has no default route).
        #expect(try netlink.fibMatch(IPAddress("10.9.9.0")!) == nil)

        let keys = ["10.1.2.0/24", "10.1.3.0/24", "10.1.4.0/24", "10.9.9.0/24", "fd10::/64", "fd10:1::/64"].map(Self.key)
        let found = try netlink.routes(on: keys + [Self.key("10.1.5.0/24")], preferring: 111)
        let dumped = try IPFamily.allCases.flatMap { try netlink.routes(family: $0, table: 254) }
            .filter { keys.contains($0.key) }
        #expect(found.filter { keys.contains($0.key) }.sorted() == dumped.sorted())
        // podnet's route found on its own: the one beside it changes nothing for the diff.
        #expect(found.filter { $0.key == Self.key("10.1.5.0/24") }.map(\.proto) == [111])
    }

    @Test(.enabled(if: KernelTest.enabled))
    func nexthopsByIDAreWhatTheDumpHoldsOfThem() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        try ns.run(["ip", "nexthop", "add", "id", "7", "via", "192.168.1.2", "dev", "up0", "proto", "111"])
        try ns.run(["ip", "nexthop", "add", "id", "8", "via", "192.168.1.3", "dev", "up0", "proto", "static"])
        try ns.run(["ip", "nexthop", "add", "id", "10", "via", "192.168.1.4", "dev", "up0", "proto", "111"])
        let netlink = try Netlink(namespace: ns.namespace)
        let names = Dictionary(uniqueKeysWithValues: try netlink.links().map { ($0.index, $0.name) })
        let byID = try netlink.observeNexthops(ids: [7, 8, 9], proto: 111, names: names)
        #expect(byID.supported)
        #expect(byID.owned.map(\.id) == [7] && byID.owned.first?.link.name == "up0"
                && byID.owned.first?.gateway == IPAddress("192.168.1.2"))
        #expect(byID.foreignIDs == [8])
        let dumped = Netlink.ownedNexthops(try netlink.nexthopDump(), proto: 111, names: names)
        #expect(dumped.owned.filter { [7, 8, 9].contains($0.id) } == byID.owned)
        #expect(try netlink.foreignNexthopIDs(proto: 111).ids == [8])
    }
}
