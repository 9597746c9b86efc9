import Testing
@testable import PodNet

@Suite struct IPAddressTests {
    @Test func parsesAndPrintsCanonically() throws {
        #expect(IPAddress("10.244.1.10")?.description == "10.244.1.10")
        #expect(IPAddress("fd00:10:244:1:0:0:0:a")?.description == "fd00:10:244:1::a")
        #expect(IPAddress("010.1.1.1") == nil)
        #expect(IPAddress("10.1.1") == nil)
        #expect(IPAddress("fe80::1%eth0") == nil)
    }

    @Test func cidrsRejectHostBitsAndBadPrefixes() throws {
        #expect(throws: IPNetwork.ParseError.hostBitsSet("10.244.1.5/24", network: "10.244.1.0/24")) {
            try IPNetwork(parsing: "10.244.1.5/24")
        }
        #expect(throws: IPNetwork.ParseError.badPrefixLength("10.0.0.0/33", max: 32)) {
            try IPNetwork(parsing: "10.0.0.0/33")
        }
        #expect(throws: IPNetwork.ParseError.notACIDR("10.0.0.0")) { try IPNetwork(parsing: "10.0.0.0") }
        let v6 = try IPNetwork(parsing: "fd00:10:244::/56")
        #expect(v6.contains(try IPNetwork(parsing: "fd00:10:244:1::/64")))
        #expect(!v6.contains(try IPNetwork(parsing: "fd00:10:245::/64")))
        #expect(v6.firstHost.description == "fd00:10:244::1")
    }

    @Test func masksAndPrefixes() {
        #expect(IPAddress.mask(prefixLength: 24, family: .ipv4).description == "255.255.255.0")
        #expect(IPAddress.mask(prefixLength: 72, family: .ipv6).description == "ffff:ffff:ffff:ffff:ff00::")
        #expect(IPAddress("255.0.255.0")?.contiguousPrefixLength == nil)
        #expect(IPAddress("255.255.240.0")?.contiguousPrefixLength == 20)
    }
}
