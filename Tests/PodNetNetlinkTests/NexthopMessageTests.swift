import Testing
import PodNet
@testable import PodNetNetlink

/// The nexthop messages byte for byte against what iproute2 6.1 sends (strace -e
/// trace=sendmsg -xx of `ip nexthop add id 7 via 192.168.1.2 dev va proto 111`, va
/// being ifindex 3), the sequence number zeroed.
@Suite struct NexthopMessageTests {
    let nexthop = NexthopState(id: 7, gateway: IPAddress("192.168.1.2")!, link: LinkReference(index: 3, name: "va"),
                               proto: 111)

    @Test func addIsWhatIpNexthopAddSends() {
        // nhmsg { AF_INET, scope 0, protocol 111, 0, flags 0 }, NHA_ID, NHA_GATEWAY, NHA_OIF;
        // NLM_F_REQUEST|ACK|EXCL|CREATE.
        #expect(hexText(NexthopMessages.write(.add(nexthop)).bytes) == hexText(hexBytes("""
            30000000 6800 0506 00000000 00000000
            02 00 6f 00 00000000
            0800 0100 07000000
            0800 0600 c0a80102
            0800 0500 03000000
            """)))
    }

    @Test func replaceIsWhatIpNexthopReplaceSends() {
        var moved = nexthop
        moved.gateway = IPAddress("192.168.1.3")!
        // NLM_F_REQUEST|ACK|REPLACE|CREATE (0x505).
        #expect(hexText(NexthopMessages.write(.replace(old: nexthop, new: moved)).bytes) == hexText(hexBytes("""
            30000000 6800 0505 00000000 00000000
            02 00 6f 00 00000000
            0800 0100 07000000
            0800 0600 c0a80103
            0800 0500 03000000
            """)))
    }

    @Test func deleteIsWhatIpNexthopDelSends() {
        #expect(hexText(NexthopMessages.write(.delete(nexthop)).bytes) == hexText(hexBytes("""
            20000000 6900 0500 00000000 00000000
            00 00 00 00 00000000
            0800 0100 07000000
            """)))
    }

    @Test func ipv6NexthopCarriesSixteenBytes() {
        let v6 = NexthopState(id: 8, gateway: IPAddress("fd00::2")!, link: LinkReference(index: 3, name: "va"), proto: 111)
        #expect(hexText(NexthopMessages.write(.add(v6)).bytes) == hexText(hexBytes("""
            3c000000 6800 0506 00000000 00000000
            0a 00 6f 00 00000000
            0800 0100 08000000
            1400 0600 fd000000000000000000000000000002
            0800 0500 03000000
            """)))
    }

    @Test func dumpRequestAsksForEveryNexthop() {
        #expect(hexText(NexthopMessages.dump().bytes) == hexText(hexBytes("""
            18000000 6a00 0103 00000000 00000000
            00 00 00 00 00000000
            """)))
    }

    /// `ip route add 10.9.0.0/24 nhid 5 proto 111` sends RTA_DST then RTA_NH_ID (30);
    /// podnet's message has RTA_TABLE between them, as its classic routes do.
    @Test func routeThroughANexthopCarriesRTA_NH_IDInsteadOfAGateway() {
        let route = RouteState(destination: try! IPNetwork(parsing: "10.9.0.0/24"), via: .nexthop(id: 5), table: 254, proto: 111)
        #expect(hexText(RouteMessages.write(route, .add).bytes) == hexText(hexBytes("""
            34000000 1800 0506 00000000 00000000
            02 18 00 00 fe 6f 00 01 00000000
            0800 0f00 fe000000
            0800 0100 0a090000
            0800 1e00 05000000
            """)))
    }

    /// What the kernel dumps for `id 5 via 192.168.1.2 dev va scope link proto 111`, and
    /// for a group (no gateway: not a nexthop podnet makes).
    @Test func parsesDumpedNexthops() throws {
        let single = NetlinkMessage(bytes: hexBytes("""
            30000000 6800 0200 05000000 00000000
            02 fd 6f 00 00000000
            0800 0100 05000000
            0800 0500 03000000
            0800 0600 c0a80102
            """))
        #expect(try NexthopMessages.parse(single)
                == KernelNexthop(id: 5, proto: 111, gateway: IPAddress("192.168.1.2")!, outputInterfaceIndex: 3))
        let group = NetlinkMessage(bytes: hexBytes("""
            2c000000 6800 0200 05000000 00000000
            00 00 6f 00 00000000
            0800 0100 09000000
            0c00 0200 05000000 01000000
            """))
        #expect(try NexthopMessages.parse(group) == KernelNexthop(id: 9, proto: 111, gateway: nil, outputInterfaceIndex: nil))
    }

    /// A dumped route through a nexthop object carries the nexthop's gateway and link
    /// beside RTA_NH_ID: it is podnet's route through that nexthop, not a classic one.
    @Test func parsesARouteThroughANexthop() throws {
        let reply = NetlinkMessage(bytes: hexBytes("""
            44000000 1800 0200 05000000 00000000
            02 18 00 00 fe 6f 00 01 00000000
            0800 0f00 fe000000
            0800 0100 0a010000
            0800 1e00 05000000
            0800 0500 c0a80102
            0800 0400 03000000
            """))
        let parsed = try #require(try RouteMessages.parse(reply))
        #expect(parsed.nexthopID == 5)
        #expect(!parsed.isOnLink)
        #expect(parsed.asRouteState == RouteState(destination: try IPNetwork(parsing: "10.1.0.0/24"), via: .nexthop(id: 5),
                                                  table: 254, proto: 111))
    }
}
