/// One iptables rule as a typed value: the fixed header matches, the
/// extension matches in blob order, and a target.
///
/// Its iptables-save text (`IptablesSaveText`) is a rendering of this value,
/// and the libiptc codec turns it into kernel entry bytes and back.
public struct Rule: Sendable, Hashable {
    public var source: AddressMatch?
    public var destination: AddressMatch?
    public var inInterface: InterfaceMatch?
    public var outInterface: InterfaceMatch?
    public var proto: ProtocolMatch?
    /// Extension matches, in the order the kernel evaluates (and iptables-save prints) them.
    public var matches: [Match]
    public var target: Target

    public init(source: AddressMatch? = nil, destination: AddressMatch? = nil,
                inInterface: InterfaceMatch? = nil, outInterface: InterfaceMatch? = nil,
                proto: ProtocolMatch? = nil, matches: [Match] = [], target: Target) {
        self.source = source
        self.destination = destination
        self.inInterface = inInterface
        self.outInterface = outInterface
        self.proto = proto
        self.matches = matches
        self.target = target
    }

    /// The text of the first comment match, if any.
    public var comment: String? {
        for case .comment(let text) in matches { return text }
        return nil
    }
}

/// `-s` / `-d`: an address under a mask (contiguous masks print as /N).
public struct AddressMatch: Sendable, Hashable {
    public var address: IPAddress
    public var mask: IPAddress
    public var negated: Bool

    /// The address is stored masked, as iptables and the kernel keep it, so that a rule
    /// read back from the kernel equals the rule that was written.
    public init(address: IPAddress, mask: IPAddress, negated: Bool = false) {
        precondition(address.family == mask.family, "address and mask families differ")
        self.address = address.masked(by: mask)
        self.mask = mask
        self.negated = negated
    }

    public init(_ network: IPNetwork, negated: Bool = false) {
        self.init(address: network.address, mask: network.netmask, negated: negated)
    }

    public var family: IPFamily { address.family }
}

/// `-i` / `-o`: an interface name; a trailing `+` matches every name with that prefix.
public struct InterfaceMatch: Sendable, Hashable {
    public var name: String
    public var negated: Bool

    public init(_ name: String, negated: Bool = false) {
        self.name = name
        self.negated = negated
    }

    public var isWildcard: Bool { name.hasSuffix("+") }
}

/// An IP protocol number with the names iptables-save prints.
public struct IPProtocol: Sendable, Hashable, CustomStringConvertible {
    public var number: UInt8

    public init(number: UInt8) { self.number = number }

    public init(_ transport: TransportProtocol) { number = transport.number }

    public static let icmp = IPProtocol(number: 1)
    public static let tcp = IPProtocol(number: 6)
    public static let udp = IPProtocol(number: 17)
    public static let icmpv6 = IPProtocol(number: 58)
    public static let sctp = IPProtocol(number: 132)

    /// iptables' own name table (libxtables xtables_chain_protos); numbers otherwise.
    public var description: String {
        switch number {
        case 1: return "icmp"
        case 6: return "tcp"
        case 17: return "udp"
        case 33: return "dccp"
        case 47: return "gre"
        case 50: return "esp"
        case 51: return "ah"
        case 58: return "ipv6-icmp"
        case 132: return "sctp"
        case 135: return "mh"
        case 136: return "udplite"
        default: return String(number)
        }
    }
}

/// `-p`.
public struct ProtocolMatch: Sendable, Hashable {
    public var proto: IPProtocol
    public var negated: Bool

    public init(_ proto: IPProtocol, negated: Bool = false) {
        self.proto = proto
        self.negated = negated
    }
}

/// An extension (match or target) podnet does not model, kept exactly as the
/// kernel holds it so that it round-trips byte for byte.
public struct OpaqueExtension: Sendable, Hashable {
    public var name: String
    public var revision: UInt8
    /// The data after the 32-byte header, including alignment padding.
    public var data: [UInt8]

    public init(name: String, revision: UInt8, data: [UInt8]) {
        self.name = name
        self.revision = revision
        self.data = data
    }
}
