/// What a rule does with a matching packet.
public enum Target: Sendable, Hashable {
    /// No `-j`: counting only, evaluation goes on.
    case fallThrough
    case accept
    case drop
    case queue
    case returnFromChain
    case jump(ChainName)
    case goto(ChainName)
    case masquerade(MasqueradeTarget)
    case dnat(NATTarget)
    case snat(NATTarget)
    case mark(MarkTarget)
    case reject(RejectKind)
    case opaque(OpaqueExtension)
    /// Not a target but a whole entry podnet could not decode, found in one of its
    /// chains: the rule holding it has nothing else, and no desired rule equals it.
    case undecoded(UndecodedEntry)

    /// The user chain this target transfers control to, if any.
    public var chainReference: ChainName? {
        switch self {
        case .jump(let chain), .goto(let chain): return chain
        default: return nil
        }
    }
}

/// `-j MASQUERADE [--to-ports P[-Q]] [--random] [--random-fully]`.
public struct MasqueradeTarget: Sendable, Hashable {
    public var ports: PortRange?
    public var random: Bool
    public var randomFully: Bool

    public init(ports: PortRange? = nil, random: Bool = false, randomFully: Bool = false) {
        self.ports = ports
        self.random = random
        self.randomFully = randomFully
    }
}

/// DNAT / SNAT: an address range and/or a port range.
public struct NATTarget: Sendable, Hashable {
    public var minAddress: IPAddress?
    public var maxAddress: IPAddress?
    public var ports: PortRange?
    public var random: Bool
    public var randomFully: Bool
    public var persistent: Bool

    public init(address: IPAddress?, ports: PortRange? = nil) {
        self.init(minAddress: address, maxAddress: address, ports: ports)
    }

    public init(minAddress: IPAddress?, maxAddress: IPAddress?, ports: PortRange? = nil,
                random: Bool = false, randomFully: Bool = false, persistent: Bool = false) {
        self.minAddress = minAddress
        self.maxAddress = maxAddress
        self.ports = ports
        self.random = random
        self.randomFully = randomFully
        self.persistent = persistent
    }
}

/// `-j MARK --set-xmark VALUE/MASK` (revision 2: mark = (mark & ~MASK) ^ VALUE).
public struct MarkTarget: Sendable, Hashable {
    public var value: UInt32
    public var mask: UInt32

    public init(value: UInt32, mask: UInt32) {
        self.value = value
        self.mask = mask
    }

    /// `--or-mark BITS`.
    public static func or(_ bits: UInt32) -> MarkTarget { MarkTarget(value: bits, mask: bits) }
}

/// `-j REJECT --reject-with KIND`, per family.
public enum RejectKind: Sendable, Hashable {
    case ipv4(UInt32)
    case ipv6(UInt32)

    /// The default, icmp-port-unreachable / icmp6-port-unreachable.
    public static func portUnreachable(_ family: IPFamily) -> RejectKind {
        family == .ipv4 ? .ipv4(3) : .ipv6(4)
    }

    /// The name iptables-save prints after `--reject-with`.
    public var name: String {
        switch self {
        case .ipv4(let code):
            let names = ["icmp-net-unreachable", "icmp-host-unreachable", "icmp-proto-unreachable",
                         "icmp-port-unreachable", "icmp-echo-reply", "icmp-net-prohibited",
                         "icmp-host-prohibited", "tcp-reset", "icmp-admin-prohibited"]
            return code < names.count ? names[Int(code)] : String(code)
        case .ipv6(let code):
            // Indexed by enum ip6t_reject_with; 2 (not-neighbour) and 5 (echo-reply)
            // have no name in iptables 1.8.9 (ip6tables refuses them).
            let names = ["icmp6-no-route", "icmp6-adm-prohibited", nil, "icmp6-addr-unreachable",
                         "icmp6-port-unreachable", nil, "tcp-reset", "icmp6-policy-fail",
                         "icmp6-reject-route"]
            return code < names.count ? names[Int(code)] ?? String(code) : String(code)
        }
    }
}
