import Testing
import PodNet
import PodNetSystem
import PodNetTestSupport
@testable import PodNetNetlink
#if canImport(Glibc)
import Glibc
#endif

@Suite struct RouteKernelTests {
    static let proto: UInt8 = 111
    static let table: UInt32 = 254

    /// 4,000 IPv4 (10.A.B.0/24) and 1,000 IPv6 (fd10:N::/64) routes.
    static func manyRoutes() -> [RouteState] {
        let v4 = (0..<4000).map { index in
            RouteState(destination: IPNetwork(network: IPAddress(ipv4: 0x0A00_0000 | UInt32(index) << 8), prefixLength: 24),
                       gateway: IPAddress("192.168.1.2")!, table: table, proto: proto)
        }
        let v6 = (0..<1000).map { index in
            RouteState(destination: IPNetwork(network: IPAddress(ipv6: 0xFD10_0000_0000_0000 | UInt64(index) << 16, 0),
                                              prefixLength: 64),
                       gateway: IPAddress("fd00::2")!, table: table, proto: proto)
        }
        return v4 + v6
    }

    static func route(_ destination: String, via gateway: String) -> RouteState {
        RouteState(destination: try! IPNetwork(parsing: destination), gateway: IPAddress(gateway)!,
                   table: table, proto: proto)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func fiveThousandRoutesInOneCall() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        let netlink = try Netlink(namespace: ns.namespace)
        let routes = Self.manyRoutes()

        let result = try netlink.addRoutes(routes)
        #expect(result.failed.isEmpty)
        #expect(result.conflicts.isEmpty)
        #expect(!result.reread)
        #expect(result.applied == routes)

        // Dumped back by podnet and by `ip`.
        #expect(try netlink.ownedRoutes(proto: Self.proto, table: Self.table) == routes.sorted())
        let shown = try ipRoutes(ns, family: .ipv4, ["proto", "111"]).union(ipRoutes(ns, family: .ipv6, ["proto", "111"]))
        #expect(shown == Set(routes.map(\.text)))

        // And deleted again, leaving the kernel's own routes.
        let deleted = try netlink.deleteRoutes(routes)
        #expect(deleted.applied.count == routes.count)
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "111"]).isEmpty)
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "kernel"]) == ["192.168.1.0/24 via -"])
    }

    /// Why batches are chunked: the whole batch in one send exceeds the send buffer.
    @Test(.enabled(if: KernelTest.enabled))
    func oneUnchunkedSendIsRefusedWithEMSGSIZE() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        let netlink = Netlink(transport: try NetlinkSocket(namespace: ns.namespace), chunkBytes: .max)
        #expect(throws: NetlinkError.system(call: "sendto", errno: EMSGSIZE)) {
            try netlink.addRoutes(Self.manyRoutes())
        }
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "111"]).isEmpty)
    }

    /// A receive buffer too small for a chunk's answers: only refusals and each chunk's
    /// last message are answered, so 100 refused routes overrun it, the kernel drops
    /// answers (ENOBUFS), and the outcome comes from re-reading the table.
    @Test(.enabled(if: KernelTest.enabled))
    func lostAcknowledgementsAreSettledByRereading() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        let socket = try NetlinkSocket(namespace: ns.namespace, receiveBufferBytes: 1024)
        let netlink = Netlink(transport: socket, chunkBytes: 60 * 1024)
        let routes = Array(Self.manyRoutes().prefix(1000))
        let unreachable = (0..<100).map { Self.route("10.250.\($0).0/24", via: "10.99.0.1") }

        let result = try netlink.addRoutes(routes + unreachable)
        #expect(result.reread)
        #expect(Set(result.applied) == Set(routes))
        #expect(Set(result.failed.map(\.route)) == Set(unreachable))
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "111"]) == Set(routes.map(\.text)))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func unreachableGatewayIsReportedWithTheKernelsReason() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        let netlink = try Netlink(namespace: ns.namespace)
        let good = (1...5).map { Self.route("10.1.\($0).0/24", via: "192.168.1.2") }
        let bad = Self.route("10.2.0.0/24", via: "10.99.0.1")
        let goodV6 = Self.route("fd20::/64", via: "fd00::2")

        let result = try netlink.addRoutes(Array(good[0..<2]) + [bad] + Array(good[2...]) + [goodV6])
        #expect(result.applied == good + [goodV6])
        #expect(result.failed.count == 1)
        let failure = try #require(result.failed.first)
        #expect(failure.route == bad)
        guard case .kernel(let reason) = failure.reason else {
            Issue.record("expected the kernel's reason, got \(failure.reason)")
            return
        }
        #expect(reason.errno == ENETUNREACH)
        #expect(reason.message == "Nexthop has invalid gateway")
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "111"]) == Set(good.map(\.text)))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func foreignRouteOnAWantedDestinationIsAConflictAndLeftAlone() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.3.0.0/24", "via", "192.168.1.3", "proto", "static"])
        // A foreign route in another table, on a destination podnet also wants in main.
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.4.0.0/24", "via", "192.168.1.4", "table", "100"])
        let netlink = try Netlink(namespace: ns.namespace)
        let wanted = [Self.route("10.3.0.0/24", via: "192.168.1.2"), Self.route("10.4.0.0/24", via: "192.168.1.2")]

        for result in [try netlink.replaceRoutes(wanted), try netlink.addRoutes(wanted)] {
            #expect(result.conflicts.map(\.wanted) == [wanted[0]])
            #expect(result.conflicts.first?.foreign.proto == 4)
            #expect(result.conflicts.first?.foreign.gateway == IPAddress("192.168.1.3"))
        }
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "static"]) == ["10.3.0.0/24 via 192.168.1.3"])
        #expect(try ipRoutes(ns, family: .ipv4, ["table", "100"]) == ["10.4.0.0/24 via 192.168.1.4"])
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "111"]) == ["10.4.0.0/24 via 192.168.1.2"])

        // Deleting podnet's routes never touches the foreign ones.
        _ = try netlink.deleteRoutes(wanted)
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "static"]) == ["10.3.0.0/24 via 192.168.1.3"])
        #expect(try ipRoutes(ns, family: .ipv4, ["table", "100"]) == ["10.4.0.0/24 via 192.168.1.4"])
    }

    @Test(.enabled(if: KernelTest.enabled))
    func replaceMovesPodnetsOwnRouteToANewGateway() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.5.0.0/24", "via", "192.168.1.3", "proto", "111"])
        try runCommand(["ip", "-n", ns.name, "-6", "route", "add", "fd30::/64", "via", "fd00::3", "proto", "111"])
        let netlink = try Netlink(namespace: ns.namespace)
        let wanted = [Self.route("10.5.0.0/24", via: "192.168.1.2"), Self.route("fd30::/64", via: "fd00::2")]

        // Adding over podnet's own route is the kernel's to refuse.
        let added = try netlink.addRoutes(wanted)
        #expect(added.applied.isEmpty)
        #expect(added.failed.map(\.reason) == Array(repeating: .kernel(KernelReason(errno: EEXIST, message: nil)), count: 2))

        let result = try netlink.replaceRoutes(wanted)
        #expect(result.applied == wanted)
        #expect(result.succeeded)
        #expect(try ipRoutes(ns, family: .ipv4, ["proto", "111"]) == ["10.5.0.0/24 via 192.168.1.2"])
        #expect(try ipRoutes(ns, family: .ipv6, ["proto", "111"]) == ["fd30::/64 via fd00::2"])
    }

    /// A route podnet asked to add but that `ip` had already made with its
    /// protocol is observed the same way.
    @Test(.enabled(if: KernelTest.enabled))
    func observationOfRoutesMadeWithIpEqualsPodnets() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.6.0.0/24", "via", "192.168.1.2", "proto", "111"])
        try runCommand(["ip", "-n", ns.name, "-6", "route", "add", "fd40::/64", "via", "fd00::2", "proto", "111"])
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.7.0.0/24", "via", "192.168.1.2", "proto", "static"])
        let netlink = try Netlink(namespace: ns.namespace)
        #expect(try netlink.ownedRoutes(proto: Self.proto, table: Self.table)
                == [Self.route("10.6.0.0/24", via: "192.168.1.2"), Self.route("fd40::/64", via: "fd00::2")])
    }
}

extension RouteKernelTests {
    @Test(.enabled(if: KernelTest.enabled))
    func observationFeedsTheRouteDiff() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.8.0.0/24", "via", "192.168.1.2", "proto", "111"])
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.9.0.0/24", "via", "192.168.1.3", "proto", "static"])
        try runCommand(["ip", "-n", ns.name, "route", "add", "blackhole", "10.10.0.0/24"])
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.11.0.0/24", "via", "192.168.1.3", "proto", "static"])
        let netlink = try Netlink(namespace: ns.namespace)
        let desired = [Self.route("10.9.0.0/24", via: "192.168.1.2"), Self.route("10.10.0.0/24", via: "192.168.1.2"),
                       Self.route("10.12.0.0/24", via: "192.168.1.2")]

        let observed = try netlink.observeRoutes(desired: desired, proto: Self.proto, table: Self.table)
        #expect(observed.owned == [Self.route("10.8.0.0/24", via: "192.168.1.2")])
        // A foreign route without a gateway (the blackhole) is kept as it is, gateway nil.
        #expect(observed.foreign.map { "\($0.destination) via \($0.gateway?.description ?? "none") table \($0.table) proto \($0.proto)" } == [
            "10.9.0.0/24 via 192.168.1.3 table \(Self.table) proto 4",
            "10.10.0.0/24 via none table \(Self.table) proto 3",
        ])
    }

    /// Tables above 255 travel in RTA_TABLE only.
    @Test(.enabled(if: KernelTest.enabled))
    func routesInATableAbove255() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        let netlink = try Netlink(namespace: ns.namespace)
        #expect(try netlink.ownedRoutes(proto: Self.proto, table: 1000).isEmpty)
        let routes = [RouteState(destination: try IPNetwork(parsing: "10.20.0.0/16"), gateway: IPAddress("192.168.1.2")!,
                                 table: 1000, proto: Self.proto),
                      RouteState(destination: try IPNetwork(parsing: "fd50::/64"), gateway: IPAddress("fd00::2")!,
                                 table: 1000, proto: Self.proto)]
        #expect(try netlink.addRoutes(routes).applied == routes)
        #expect(try netlink.ownedRoutes(proto: Self.proto, table: 1000) == routes)
        #expect(try netlink.ownedRoutes(proto: Self.proto, table: Self.table).isEmpty)
        #expect(try ipRoutes(ns, family: .ipv4, ["table", "1000"]) == ["10.20.0.0/16 via 192.168.1.2"])
        #expect(try ipRoutes(ns, family: .ipv6, ["table", "1000"]) == ["fd50::/64 via fd00::2"])
    }
}
