import Testing
import PodNet
@testable import PodNetNetlink

@Suite struct RouteMessageTests {
    let route = RouteState(destination: try! IPNetwork(parsing: "10.244.2.0/24"),
                           gateway: IPAddress("192.168.1.2")!, table: 254, proto: 111)

    @Test func routeReplaceBytes() {
        let message = RouteMessages.write(route, .replace)
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            34000000 1800 0505 00000000 00000000
            02 18 00 00 fe 6f 00 01 00000000
            0800 0f00 fe000000
            0800 0100 0af40200
            0800 0500 c0a80102
            """)))
    }

    @Test func routeAddAndDeleteFlags() {
        // NLM_F_REQUEST|ACK|CREATE|EXCL for add; REQUEST|ACK and RTM_DELROUTE (25) for delete.
        #expect(RouteMessages.write(route, .add).flags == 0x605)
        let delete = RouteMessages.write(route, .delete)
        #expect(delete.type == 25)
        #expect(delete.flags == 0x005)
    }

    @Test func ipv6RouteCarriesSixteenByteAddresses() {
        let v6 = RouteState(destination: try! IPNetwork(parsing: "fd00:2::/64"),
                            gateway: IPAddress("fd00::2")!, table: 1000, proto: 111)
        let message = RouteMessages.write(v6, .add)
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            4c000000 1800 0506 00000000 00000000
            0a 40 00 00 00 6f 00 01 00000000
            0800 0f00 e8030000
            1400 0100 fd000002000000000000000000000000
            1400 0500 fd000000000000000000000000000002
            """)))
    }

    @Test func routeDumpRequestBytes() {
        let message = RouteMessages.dump(family: .ipv4, table: 254, proto: 111)
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            24000000 1a00 0103 00000000 00000000
            02 00 00 00 fe 6f 00 00 00000000
            0800 0f00 fe000000
            """)))
    }

    @Test func parsesADumpedRoute() throws {
        // What the kernel sends for `10.244.2.0/24 via 192.168.1.2 proto 111` in main.
        let reply = NetlinkMessage(bytes: hexBytes("""
            3c000000 1800 0200 05000000 00000000
            02 18 00 00 fe 6f 00 01 00000000
            0800 0f00 fe000000
            0800 0100 0af40200
            0800 0500 c0a80102
            0800 0400 03000000
            """))
        let parsed = try RouteMessages.parse(reply)
        #expect(parsed == ObservedRoute(destination: route.destination, gateway: route.gateway, table: 254, proto: 111,
                                       outputInterfaceIndex: 3))
    }

    @Test func anAttributeOverrunningItsRouteIsMalformed() {
        // The gateway attribute, the last, claims 12 bytes where 8 are left.
        let reply = NetlinkMessage(bytes: hexBytes("""
            34000000 1800 0200 05000000 00000000
            02 18 00 00 fe 6f 00 01 00000000
            0800 0f00 fe000000
            0800 0100 0af40200
            0c00 0500 c0a80102
            """))
        #expect(throws: NetlinkError.self) { try RouteMessages.parse(reply) }
    }
}
