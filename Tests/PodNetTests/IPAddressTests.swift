import Glibc
import Testing
import PodNetTestSupport
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

@Suite struct IPAddressTextTests {
    /// inet_ntop is the oracle: random addresses, and the shapes with zero runs,
    /// embedded IPv4 and ties between runs.
    @Test func textMatchesInetNtop() {
        var generator = SplitMix(seed: 42)
        var samples: [IPAddress] = ["::", "::1", "1::", "::ffff:1.2.3.4", "::1.2.3.4", "1:0:0:2:0:0:3:4", "1:0:0:2::3",
                                    "fd00:10:244:1::a", "2001:db8::", "0:0:1::", "1:2:3:4:5:6:7:8", "::ffff:0:1.2.3.4",
                                    "0.0.0.0", "255.255.255.255", "10.244.1.10"].map { IPAddress($0)! }
        for _ in 0..<3000 {
            // Sparse groups so that zero runs of every length show up.
            let groups = (0..<8).map { _ in generator.next() % 3 == 0 ? UInt64(generator.next() % 0x10000) : 0 }
            let high = groups[0..<4].reduce(0) { $0 << 16 | $1 }, low = groups[4..<8].reduce(0) { $0 << 16 | $1 }
            samples.append(IPAddress(ipv6: high, low))
            samples.append(IPAddress(ipv4: UInt32(truncatingIfNeeded: generator.next())))
        }
        for address in samples {
            #expect(address.description == inetNtop(address), "\(address.high) \(address.low)")
        }
    }

    private func inetNtop(_ address: IPAddress) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let raw = address.bytes
        _ = raw.withUnsafeBytes { inet_ntop(address.family == .ipv4 ? AF_INET : AF_INET6, $0.baseAddress, &buffer, 64) }
        return String(cString: buffer)
    }
}
