/// A CIDR block: an address and a prefix length.
///
/// `init(parsing:)` accepts host bits (they are reported separately, since
/// validation names them as their own problem); `network` is the masked form.
public struct IPNetwork: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public var family: IPFamily { address.family }

    /// A network whose address is already masked.
    public init(network address: IPAddress, prefixLength: Int) {
        precondition((0...address.family.bitWidth).contains(prefixLength), "prefix length out of range")
        self.address = address.masked(toPrefix: prefixLength)
        self.prefixLength = prefixLength
    }

    /// The host route of one address (/32 or /128).
    public init(host address: IPAddress) {
        self.init(network: address, prefixLength: address.family.bitWidth)
    }

    /// Why a CIDR string did not parse.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case notACIDR(String)
        case badPrefixLength(String, max: Int)
        case hostBitsSet(String, network: String)

        public var description: String {
            switch self {
            case .notACIDR(let text):
                return "\"\(text)\" is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.244.1.0/24)"
            case .badPrefixLength(let text, let max):
                return "\"\(text)\" has a prefix length outside 0...\(max)"
            case .hostBitsSet(let text, let network):
                return "\"\(text)\" has host bits set (did you mean \(network)?)"
            }
        }
    }

    /// Parses "ADDRESS/PREFIX" strictly: host bits set is an error naming the network meant.
    public init(parsing text: String) throws(ParseError) {
        var utf8 = text
        self = try utf8.withUTF8 { bytes in Result { () throws(ParseError) in try IPNetwork(parsing: bytes) } }.get()
    }

    /// The same from UTF-8 text in place: a 50,000-peer config holds 100,000 CIDRs,
    /// read from its bytes (a String is made only for a message).
    public init(parsing bytes: UnsafeBufferPointer<UInt8>) throws(ParseError) {
        let text = { String(decoding: bytes, as: UTF8.self) }
        guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")), bytes.lastIndex(of: UInt8(ascii: "/")) == slash,
              let address = IPAddress.parse(UnsafeBufferPointer(rebasing: bytes[..<slash])) else { throw .notACIDR(text()) }
        let digits = bytes[(slash + 1)...]
        guard (1...3).contains(digits.count),
              digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw .badPrefixLength(text(), max: address.family.bitWidth)
        }
        let length = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard length <= address.family.bitWidth else { throw .badPrefixLength(text(), max: address.family.bitWidth) }
        let network = IPNetwork(network: address, prefixLength: length)
        guard network.address == address else {
            throw .hostBitsSet(text(), network: network.description)
        }
        self = network
    }

    public var description: String { address.description + "/" + String(prefixLength) }

    public var netmask: IPAddress { IPAddress.mask(prefixLength: prefixLength, family: family) }

    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && other.masked(toPrefix: prefixLength) == address
    }

    /// True when `other` lies wholly inside this network.
    public func contains(_ other: IPNetwork) -> Bool {
        other.family == family && other.prefixLength >= prefixLength && contains(other.address)
    }

    public func overlaps(_ other: IPNetwork) -> Bool {
        contains(other) || other.contains(self)
    }

    /// The first usable address (network + 1): kubenet's gateway on cbr0.
    public var firstHost: IPAddress { address.adding(1) }

    public static func < (lhs: IPNetwork, rhs: IPNetwork) -> Bool {
        (lhs.address, lhs.prefixLength) < (rhs.address, rhs.prefixLength)
    }
}
