#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, held as its 128-bit value (IPv4 in the low 32 bits).
///
/// Parsing is strict (inet_pton): no leading zeros in IPv4, no zone, no brackets.
/// `description` is the canonical text (RFC 5952 for IPv6), the same text
/// iptables-save and `ip` print, so renderings compare byte for byte.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let family: IPFamily
    /// The address as a 128-bit unsigned integer split in two (network order, high first).
    public let high: UInt64
    public let low: UInt64

    public init(ipv4 value: UInt32) {
        family = .ipv4
        high = 0
        low = UInt64(value)
    }

    public init(ipv6 high: UInt64, _ low: UInt64) {
        family = .ipv6
        self.high = high
        self.low = low
    }

    /// Parses a textual address; nil when it is not exactly one address.
    public init?(_ text: String) {
        var text = text
        guard let address = text.withUTF8(Self.parse) else { return nil }
        self = address
    }

    /// Parses the UTF-8 text of an address exactly as inet_pton does, without a String
    /// or an allocation: configs with 5,000 peers hold tens of thousands of addresses.
    /// IPv4 is read here (four decimal octets, no leading zeros); IPv6 goes to
    /// inet_pton from a stack buffer.
    public static func parse(_ text: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        if text.contains(UInt8(ascii: ":")) {
            // INET6_ADDRSTRLEN is 46 with its NUL; a longer text is no address.
            guard text.count < 46 else { return nil }
            // Hex groups and "::" are read here, as glibc's inet_pton6 reads them; a
            // dotted IPv4 tail goes to inet_pton itself.
            if !text.contains(UInt8(ascii: ".")) { return parseIPv6Groups(text) }
            // inet_pton would stop at a NUL and read "::ffff:1.2.3.4\0junk" as an address.
            guard !text.contains(0) else { return nil }
            var cString = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            return withUnsafeMutableBytes(of: &cString) { buffer -> IPAddress? in
                buffer.copyMemory(from: UnsafeRawBufferPointer(text))  // the rest stays zero: the NUL
                var raw = in6_addr()
                guard inet_pton(AF_INET6, buffer.baseAddress!, &raw) == 1 else { return nil }
                return withUnsafeBytes(of: raw) { IPAddress(networkOrder: $0, family: .ipv6) }
            }
        }
        var value: UInt32 = 0
        var octets = 0
        var index = 0
        while index < text.count {
            let start = index
            var octet: UInt32 = 0
            while index < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[index]) {
                octet = octet * 10 + UInt32(text[index] - UInt8(ascii: "0"))
                index += 1
                guard octet <= 255 else { return nil }
            }
            let digits = index - start
            guard digits > 0, digits == 1 || text[start] != UInt8(ascii: "0"), octets < 4 else { return nil }
            value = value << 8 | octet
            octets += 1
            if index < text.count {
                guard text[index] == UInt8(ascii: "."), index + 1 < text.count else { return nil }
                index += 1
            }
        }
        return octets == 4 ? IPAddress(ipv4: value) : nil
    }

    /// glibc's inet_pton6 without the IPv4 tail: up to eight groups of one to four hex
    /// digits, one "::" standing for at least one zero group, no lone leading or
    /// trailing colon.
    private static func parseIPv6Groups(_ text: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        var groups = (UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0), UInt16(0))
        return withUnsafeMutableBytes(of: &groups) { raw -> IPAddress? in
            let groups = raw.bindMemory(to: UInt16.self)
            var count = 0
            var compressedAt: Int?
            var index = 0
            if text.first == UInt8(ascii: ":") {
                guard text.count > 1, text[1] == UInt8(ascii: ":") else { return nil }
                index = 1
            }
            var digits = 0
            var value: UInt32 = 0
            while index < text.count {
                let byte = text[index]
                index += 1
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                case UInt8(ascii: ":"):
                    if digits == 0 {
                        guard compressedAt == nil else { return nil }
                        compressedAt = count
                        continue
                    }
                    guard index < text.count, count < 8 else { return nil }
                    groups[count] = UInt16(value)
                    count += 1
                    (digits, value) = (0, 0)
                    continue
                default:
                    return nil
                }
                guard digits < 4 else { return nil }
                value = value << 4 | digit
                digits += 1
            }
            if digits > 0 {
                guard count < 8 else { return nil }
                groups[count] = UInt16(value)
                count += 1
            }
            if let compressedAt {
                guard count < 8 else { return nil }
                // The groups after "::" move to the end; zeros fill the gap.
                let after = count - compressedAt
                for offset in stride(from: after - 1, through: 0, by: -1) {
                    groups[8 - after + offset] = groups[compressedAt + offset]
                }
                for gap in compressedAt..<(8 - after) { groups[gap] = 0 }
            } else if count != 8 {
                return nil
            }
            var high: UInt64 = 0, low: UInt64 = 0
            for group in 0..<4 { high = high << 16 | UInt64(groups[group]) }
            for group in 4..<8 { low = low << 16 | UInt64(groups[group]) }
            return IPAddress(ipv6: high, low)
        }
    }

    /// From network-order bytes: 4 for IPv4, 16 for IPv6.
    public init(bytes: [UInt8], family: IPFamily) {
        self = bytes.withUnsafeBytes { IPAddress(networkOrder: $0, family: family) }
    }

    /// From network-order bytes read in place (a kernel struct, a netlink attribute):
    /// 4 for IPv4, 16 for IPv6.
    public init(networkOrder raw: UnsafeRawBufferPointer, family: IPFamily) {
        precondition(raw.count == family.bitWidth / 8, "address byte count does not match family")
        switch family {
        case .ipv4:
            self.init(ipv4: UInt32(bigEndian: raw.loadUnaligned(as: UInt32.self)))
        case .ipv6:
            self.init(ipv6: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
                      UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    /// Network-order bytes: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        withNetworkOrderBytes { Array($0) }
    }

    /// The network-order bytes (4 or 16) in place, for the duration of `body`: the
    /// encoders write thousands of addresses, and an array per address cost more.
    @inlinable
    public func withNetworkOrderBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch family {
        case .ipv4: return try withUnsafeBytes(of: UInt32(truncatingIfNeeded: low).bigEndian, body)
        case .ipv6: return try withUnsafeBytes(of: (high.bigEndian, low.bigEndian), body)
        }
    }

    public var ipv4Value: UInt32? { family == .ipv4 ? UInt32(truncatingIfNeeded: low) : nil }

    public var isLoopback: Bool {
        switch family {
        case .ipv4: return low >> 24 == 127
        case .ipv6: return high == 0 && low == 1
        }
    }

    public var description: String {
        switch family {
        case .ipv4: return Self.dottedQuad(UInt32(truncatingIfNeeded: low))
        case .ipv6: return ipv6Text
        }
    }

    /// inet_ntop's text, built without a C call: rendering 5,000-peer states prints
    /// tens of thousands of addresses.
    static func dottedQuad(_ value: UInt32) -> String {
        String(unsafeUninitializedCapacity: 15) { buffer in
            var count = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = UInt8(truncatingIfNeeded: value >> UInt32(shift))
                if shift != 24 { buffer[count] = UInt8(ascii: "."); count += 1 }
                if octet >= 100 { buffer[count] = UInt8(ascii: "0") + octet / 100; count += 1 }
                if octet >= 10 { buffer[count] = UInt8(ascii: "0") + octet / 10 % 10; count += 1 }
                buffer[count] = UInt8(ascii: "0") + octet % 10
                count += 1
            }
            return count
        }
    }

    /// RFC 5952 as glibc's inet_ntop writes it: lower-case hex groups, the longest run
    /// of two or more zero groups (the first on a tie) as "::", and the last 32 bits
    /// dotted for IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses.
    private var ipv6Text: String {
        let (high, low) = (self.high, self.low)
        func group(_ index: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (index < 4 ? high : low) >> (48 - 16 * UInt64(index % 4)))
        }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, group(index) == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                let length = index - runStart
                if length > bestLength { (bestStart, bestLength) = (runStart, length) }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        if bestStart == 0, bestLength == 6 || (bestLength == 5 && group(5) == 0xFFFF) {
            return (bestLength == 6 ? "::" : "::ffff:") + Self.dottedQuad(UInt32(truncatingIfNeeded: low))
        }
        // Into one buffer (at most 39 characters), without a String per group.
        return String(unsafeUninitializedCapacity: 39) { buffer in
            var count = 0
            func put(_ byte: UInt8) {
                buffer[count] = byte
                count += 1
            }
            var index = 0
            while index < 8 {
                if index == bestStart {
                    if index == 0 { put(UInt8(ascii: ":")) }
                    put(UInt8(ascii: ":"))
                    index += bestLength
                    continue
                }
                let value = group(index)
                var started = false
                for shift in stride(from: 12, through: 0, by: -4) {
                    let digit = UInt8(truncatingIfNeeded: value >> UInt16(shift) & 0xF)
                    if digit != 0 || started || shift == 0 {
                        put(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
                        started = true
                    }
                }
                if index < 7 { put(UInt8(ascii: ":")) }
                index += 1
            }
            return count
        }
    }

    /// The address with every bit past `prefixLength` cleared.
    public func masked(toPrefix prefixLength: Int) -> IPAddress {
        let mask = IPAddress.mask(prefixLength: prefixLength, family: family)
        return IPAddress(family: family, high: high & mask.high, low: low & mask.low)
    }

    /// The address under an arbitrary (not necessarily contiguous) mask of its family.
    @inlinable  // the encoder masks every address it writes
    public func masked(by mask: IPAddress) -> IPAddress {
        precondition(mask.family == family, "mask family does not match the address")
        return family == .ipv4 ? IPAddress(ipv4: UInt32(truncatingIfNeeded: low & mask.low))
                               : IPAddress(ipv6: high & mask.high, low & mask.low)
    }

    /// The address plus `offset` (wrapping within the family's width).
    public func adding(_ offset: UInt64) -> IPAddress {
        switch family {
        case .ipv4:
            return IPAddress(ipv4: UInt32(truncatingIfNeeded: low &+ offset))
        case .ipv6:
            let (newLow, overflow) = low.addingReportingOverflow(offset)
            return IPAddress(ipv6: overflow ? high &+ 1 : high, newLow)
        }
    }

    /// The netmask of `prefixLength` bits in this family.
    public static func mask(prefixLength: Int, family: IPFamily) -> IPAddress {
        precondition((0...family.bitWidth).contains(prefixLength), "prefix length out of range")
        switch family {
        case .ipv4:
            let value: UInt32 = prefixLength == 0 ? 0 : UInt32.max << (32 - prefixLength)
            return IPAddress(ipv4: value)
        case .ipv6:
            let highBits = min(prefixLength, 64), lowBits = max(prefixLength - 64, 0)
            let high: UInt64 = highBits == 0 ? 0 : UInt64.max << (64 - highBits)
            let low: UInt64 = lowBits == 0 ? 0 : UInt64.max << (64 - lowBits)
            return IPAddress(ipv6: high, low)
        }
    }

    /// The prefix length of a contiguous netmask; nil for a mask with holes.
    public var contiguousPrefixLength: Int? {
        let ones: Int
        switch family {
        case .ipv4: ones = (~UInt32(truncatingIfNeeded: low)).leadingZeroBitCount
        case .ipv6: ones = high == .max ? 64 + (~low).leadingZeroBitCount : (~high).leadingZeroBitCount
        }
        return self == IPAddress.mask(prefixLength: ones, family: family) ? ones : nil
    }

    private init(family: IPFamily, high: UInt64, low: UInt64) {
        self.family = family
        self.high = high
        self.low = low
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        (lhs.family, lhs.high, lhs.low) < (rhs.family, rhs.high, rhs.low)
    }
}
