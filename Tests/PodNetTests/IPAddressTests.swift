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

    /// A NUL ends the text for inet_pton, not for podnet: the bytes after it are no part
    /// of an address (YAML's "\0" and JSON's "\u0000" put one there).
    @Test func aNulByteMakesNoAddress() {
        #expect(IPAddress("::1\u{0}") == nil)
        #expect(IPAddress("2001:db8::11\u{0}junk") == nil)
        #expect(IPAddress("::ffff:198.18.0.11\u{0}junk") == nil)
        #expect(IPAddress("::ffff:198.18.0.11") != nil)
        #expect(IPAddress("10.0.0.1\u{0}") == nil)
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
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// inet_pton, the reference the byte parser must agree with.
    static func referenceParse(_ text: String) -> [UInt8]? {
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            return withUnsafeBytes(of: raw) { Array($0) }
        }
        var raw = in_addr()
        guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
        return withUnsafeBytes(of: raw) { Array($0) }
    }

    @Test func parsingAgreesWithInetPton() {
        var generator = SplitMix(seed: 5952)
        let alphabet = Array("0123456789.:abcdefABCDEF/%x ")
        var texts = ["0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3.4.", ".1.2.3.4", "1..2.3", "01.2.3.4", "1.2.3.04",
                     "1.2.3.4.5", "1.2.3", "", "::", "::1", "1::", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
                     "::1.2.3.4", "fe80::1%1", "0000:0000:0000:0000:0000:0000:0000:0001", "1.2.3.4 ", " 1.2.3.4", "999.1.1.1",
                     String(repeating: "1", count: 60), "1:" + String(repeating: "0", count: 50) + "::"]
        for _ in 0..<10_000 {
            let length = Int.random(in: 0...20, using: &generator)
            texts.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
            // Near-valid ones: random octets and groups.
            let octets = (0..<Int.random(in: 3...5, using: &generator)).map { _ in String(Int.random(in: 0...300, using: &generator)) }
            texts.append(octets.joined(separator: "."))
            let groups = (0..<Int.random(in: 2...9, using: &generator)).map { _ in
                Bool.random(using: &generator) ? "" : String(Int.random(in: 0...0x1FFFF, using: &generator), radix: 16)
            }
            texts.append(groups.joined(separator: ":"))
        }
        var valid = 0
        for text in texts {
            let reference = Self.referenceParse(text)
            #expect(IPAddress(text)?.bytes == reference, "\(text)")
            if let reference, let parsed = IPAddress(text) {
                #expect(IPAddress(bytes: reference, family: parsed.family) == parsed, "\(text)")
            }
            if reference != nil { valid += 1 }
        }
        #expect(valid > 2_000)
    }
}
