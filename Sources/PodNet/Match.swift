/// An extension match (`-m NAME ...`).
public enum Match: Sendable, Hashable {
    case comment(String)
    case addressType(AddressTypeMatch)
    case conntrack(ConntrackMatch)
    case mark(MarkMatch)
    case tcp(TCPMatch)
    case udp(PortMatch)
    case sctp(PortMatch)
    case multiport(MultiportMatch)
    case physdev(PhysdevMatch)
    case set(SetMatch)
    case opaque(OpaqueExtension)

    /// The extension's name as the kernel knows it.
    public var extensionName: String {
        switch self {
        case .comment: return "comment"
        case .addressType: return "addrtype"
        case .conntrack: return "conntrack"
        case .mark: return "mark"
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .sctp: return "sctp"
        case .multiport: return "multiport"
        case .physdev: return "physdev"
        case .set: return "set"
        case .opaque(let ext): return ext.name
        }
    }
}

/// A port or an inclusive port range (`80`, `8000:8080`).
public struct PortRange: Sendable, Hashable, CustomStringConvertible {
    public var first: UInt16
    public var last: UInt16

    public init(_ port: UInt16) {
        first = port
        last = port
    }

    public init(first: UInt16, last: UInt16) {
        self.first = first
        self.last = last
    }

    public static let all = PortRange(first: 0, last: .max)

    public var description: String { first == last ? String(first) : String(first) + ":" + String(last) }
}

/// Ports of the tcp, udp and sctp matches.
public struct PortMatch: Sendable, Hashable {
    public var sourcePorts: PortRange?
    public var sourceNegated: Bool
    public var destinationPorts: PortRange?
    public var destinationNegated: Bool

    public init(sourcePorts: PortRange? = nil, sourceNegated: Bool = false,
                destinationPorts: PortRange? = nil, destinationNegated: Bool = false) {
        self.sourcePorts = sourcePorts
        self.sourceNegated = sourceNegated
        self.destinationPorts = destinationPorts
        self.destinationNegated = destinationNegated
    }

    public static func destination(_ port: UInt16) -> PortMatch {
        PortMatch(destinationPorts: PortRange(port))
    }
}

/// The tcp match: ports plus the optional flag and option tests.
public struct TCPMatch: Sendable, Hashable {
    public var ports: PortMatch
    public var flags: TCPFlagsTest?
    /// `--tcp-option N`.
    public var option: UInt8?
    public var optionNegated: Bool

    public init(ports: PortMatch, flags: TCPFlagsTest? = nil, option: UInt8? = nil,
                optionNegated: Bool = false) {
        self.ports = ports
        self.flags = flags
        self.option = option
        self.optionNegated = optionNegated
    }
}

/// `--tcp-flags MASK COMP` (bits FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20).
public struct TCPFlagsTest: Sendable, Hashable {
    public var mask: UInt8
    public var comparison: UInt8
    public var negated: Bool

    public init(mask: UInt8, comparison: UInt8, negated: Bool = false) {
        self.mask = mask
        self.comparison = comparison
        self.negated = negated
    }
}

/// Route types of the addrtype match (bit = 1 << RTN_*).
public struct AddressTypes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let unspec = AddressTypes(rawValue: 1 << 0)
    public static let unicast = AddressTypes(rawValue: 1 << 1)
    public static let local = AddressTypes(rawValue: 1 << 2)
    public static let broadcast = AddressTypes(rawValue: 1 << 3)
    public static let anycast = AddressTypes(rawValue: 1 << 4)
    public static let multicast = AddressTypes(rawValue: 1 << 5)
    public static let blackhole = AddressTypes(rawValue: 1 << 6)
    public static let unreachable = AddressTypes(rawValue: 1 << 7)
    public static let prohibit = AddressTypes(rawValue: 1 << 8)
    public static let `throw` = AddressTypes(rawValue: 1 << 9)
    public static let nat = AddressTypes(rawValue: 1 << 10)
    public static let xresolve = AddressTypes(rawValue: 1 << 11)

    /// Names in bit order, as iptables-save prints them.
    public static let names = ["UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
                               "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"]

    public var names: [String] {
        AddressTypes.names.indices.filter { rawValue & (1 << $0) != 0 }.map { AddressTypes.names[$0] }
    }
}

/// The addrtype match, revision 1.
public struct AddressTypeMatch: Sendable, Hashable {
    public var sourceTypes: AddressTypes
    public var sourceNegated: Bool
    public var destinationTypes: AddressTypes
    public var destinationNegated: Bool
    public var limitToInInterface: Bool
    public var limitToOutInterface: Bool

    public init(sourceTypes: AddressTypes = [], sourceNegated: Bool = false,
                destinationTypes: AddressTypes = [], destinationNegated: Bool = false,
                limitToInInterface: Bool = false, limitToOutInterface: Bool = false) {
        self.sourceTypes = sourceTypes
        self.sourceNegated = sourceNegated
        self.destinationTypes = destinationTypes
        self.destinationNegated = destinationNegated
        self.limitToInInterface = limitToInInterface
        self.limitToOutInterface = limitToOutInterface
    }

    public static func destination(_ types: AddressTypes, negated: Bool = false) -> AddressTypeMatch {
        AddressTypeMatch(destinationTypes: types, destinationNegated: negated)
    }
}

/// Connection tracking states of the conntrack match.
public struct ConntrackStates: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let invalid = ConntrackStates(rawValue: 1)
    public static let established = ConntrackStates(rawValue: 2)
    public static let related = ConntrackStates(rawValue: 4)
    public static let new = ConntrackStates(rawValue: 8)
    public static let snat = ConntrackStates(rawValue: 64)
    public static let dnat = ConntrackStates(rawValue: 128)
    public static let untracked = ConntrackStates(rawValue: 256)

    /// The order libxt_conntrack prints states in.
    public static let printOrder: [(ConntrackStates, String)] = [
        (.invalid, "INVALID"), (.new, "NEW"), (.related, "RELATED"), (.established, "ESTABLISHED"),
        (.untracked, "UNTRACKED"), (.snat, "SNAT"), (.dnat, "DNAT"),
    ]
}

/// The conntrack match, reduced to `--ctstate` (revision 3).
public struct ConntrackMatch: Sendable, Hashable {
    public var states: ConntrackStates
    public var negated: Bool

    public init(states: ConntrackStates, negated: Bool = false) {
        self.states = states
        self.negated = negated
    }
}

/// `-m mark --mark VALUE[/MASK]`.
public struct MarkMatch: Sendable, Hashable {
    public var value: UInt32
    public var mask: UInt32
    public var negated: Bool

    public init(value: UInt32, mask: UInt32 = .max, negated: Bool = false) {
        self.value = value
        self.mask = mask
        self.negated = negated
    }
}

/// The multiport match, revision 1.
public struct MultiportMatch: Sendable, Hashable {
    public enum Direction: Sendable, Hashable {
        case source, destination, either
    }

    public var direction: Direction
    /// At most 15 slots; a range takes two.
    public var ports: [PortRange]
    public var negated: Bool

    public init(direction: Direction, ports: [PortRange], negated: Bool = false) {
        self.direction = direction
        self.ports = ports
        self.negated = negated
    }
}

/// The physdev match (bridge ports).
public struct PhysdevMatch: Sendable, Hashable {
    public var inInterface: InterfaceMatch?
    public var outInterface: InterfaceMatch?
    /// `--physdev-is-in`, `--physdev-is-out`, `--physdev-is-bridged`: nil = not tested,
    /// otherwise whether the test is negated.
    public var isInNegated: Bool?
    public var isOutNegated: Bool?
    public var isBridgedNegated: Bool?

    public init(inInterface: InterfaceMatch? = nil, outInterface: InterfaceMatch? = nil,
                isInNegated: Bool? = nil, isOutNegated: Bool? = nil, isBridgedNegated: Bool? = nil) {
        self.inInterface = inInterface
        self.outInterface = outInterface
        self.isInNegated = isInNegated
        self.isOutNegated = isOutNegated
        self.isBridgedNegated = isBridgedNegated
    }
}
