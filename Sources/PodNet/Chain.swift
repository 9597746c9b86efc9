/// An iptables chain name: a built-in hook chain or a user chain (at most 28 characters).
public struct ChainName: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    /// The kernel's limit (XT_EXTENSION_MAXNAMELEN - 1 = 28 usable bytes with the NUL).
    public static let maxLength = 28
    /// Every chain podnet creates starts with this; nothing else with it is foreign.
    public static let podnetPrefix = "PODNET-"
    /// Where host ports are dispatched: the compiler fills it, the dataplane looks in it
    /// for new UDP ports whose old conntrack flows must go.
    public static let hostPorts = ChainName(podnetPrefix + "HOSTPORTS")
    /// NetworkPolicy's chains (filter): what the cluster's List decides, beside what the
    /// node config does. A CNI request, which reads no List, leaves them to the runs that do.
    public static let policy = ChainName(podnetPrefix + "POLICY")
    public static let policyIngress = ChainName(podnetPrefix + "INGRESS")
    public static let policyEgress = ChainName(podnetPrefix + "EGRESS")
    public static let policyChains: Set<ChainName> = [policy, policyIngress, policyEgress]

    public static let prerouting: ChainName = "PREROUTING"
    public static let input: ChainName = "INPUT"
    public static let forward: ChainName = "FORWARD"
    public static let output: ChainName = "OUTPUT"
    public static let postrouting: ChainName = "POSTROUTING"

    public var isBuiltin: Bool { BuiltinChain(chainName: rawValue) != nil }
    public var isPodnetOwned: Bool { rawValue.hasPrefix(ChainName.podnetPrefix) }

    public var description: String { rawValue }

    /// strcmp order, the order libiptc keeps user chains in.
    public static func < (lhs: ChainName, rhs: ChainName) -> Bool {
        // On the contiguous bytes: tables sort a thousand names sharing "PODNET-HP-".
        var left = lhs.rawValue, right = rhs.rawValue
        return left.withUTF8 { a in
            right.withUTF8 { b in
                for index in 0..<min(a.count, b.count) where a[index] != b[index] { return a[index] < b[index] }
                return a.count < b.count
            }
        }
    }
}

/// The netfilter hooks, as built-in chains.
public enum BuiltinChain: String, Sendable, Hashable, CaseIterable {
    case prerouting = "PREROUTING"
    case input = "INPUT"
    case forward = "FORWARD"
    case output = "OUTPUT"
    case postrouting = "POSTROUTING"

    public var name: ChainName { ChainName(rawValue) }

    /// The chain's place in `allCases` (hook order), by a switch: `allCases.firstIndex`
    /// would build the array at each call.
    public var position: Int {
        switch self {
        case .prerouting: return 0
        case .input: return 1
        case .forward: return 2
        case .output: return 3
        case .postrouting: return 4
        }
    }

    /// The built-in chain of this name, if it is one. Tables read beside kube-proxy
    /// name twenty thousand chains (KUBE-SEP-...): the names that cannot be one of the
    /// five (longer than POSTROUTING, or holding anything but capitals) are passed over
    /// before the string comparisons.
    public init?(chainName name: String) {
        let utf8 = name.utf8
        guard utf8.count <= 11, utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            return nil
        }
        self.init(rawValue: name)
    }
}

/// The iptables tables podnet may write.
public enum TableName: String, Sendable, Hashable, CaseIterable, Comparable {
    case filter
    case nat
    case mangle
    case raw

    /// Built-in chains of the table, in the order iptables-save lists them.
    public var builtinChains: [BuiltinChain] {
        switch self {
        case .filter: return [.input, .forward, .output]
        case .nat: return [.prerouting, .input, .output, .postrouting]
        case .mangle: return [.prerouting, .input, .forward, .output, .postrouting]
        case .raw: return [.prerouting, .output]
        }
    }

    /// The order iptables-save prints tables in (and podnet renders them).
    public static func < (lhs: TableName, rhs: TableName) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One table of one family.
public struct TableID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var family: IPFamily
    public var table: TableName

    public init(_ family: IPFamily, _ table: TableName) {
        self.family = family
        self.table = table
    }

    /// Raw values concatenated: interpolating the family would reflect on the enum.
    public var description: String { family.rawValue + "/" + table.rawValue }

    public static func < (lhs: TableID, rhs: TableID) -> Bool {
        (lhs.family, lhs.table) < (rhs.family, rhs.table)
    }
}

/// A podnet-owned user chain and its rules, in order.
public struct Chain: Sendable, Hashable {
    public var name: ChainName
    public var rules: [Rule]

    public init(name: ChainName, rules: [Rule]) {
        self.name = name
        self.rules = rules
    }
}

/// Where a jump from a built-in chain belongs.
public enum JumpPlacement: Sendable, Hashable {
    /// First in the chain (nat hooks, as kubelet does): podnet's NAT decisions come first.
    case top
    /// Last in the chain (FORWARD, as flannel does): an administrator's DROP rules still win.
    case appended

    /// nat jumps go first, as kubelet's do, so that podnet's NAT decisions are taken
    /// before anyone else's; FORWARD's goes last, as flannel's does, so that an
    /// administrator's own DROP rules still win and only a DROP policy is overridden.
    public init(for hook: BuiltinChain) {
        self = hook == .forward ? .appended : .top
    }
}

/// podnet's single jump from a built-in chain into its own chain.
public struct JumpRule: Sendable, Hashable {
    public var builtinChain: BuiltinChain
    /// Its target is `.jump(podnet chain)` and its first match a comment starting "podnet:".
    public var rule: Rule
    public var placement: JumpPlacement

    public init(builtinChain: BuiltinChain, rule: Rule, placement: JumpPlacement) {
        self.builtinChain = builtinChain
        self.rule = rule
        self.placement = placement
    }

    public static let commentPrefix = "podnet:"
}

/// podnet's part of one table: its chains (in strcmp order) and its jumps.
public struct TableState: Sendable, Hashable {
    public var id: TableID
    public var chains: [Chain]
    public var jumps: [JumpRule]

    public init(id: TableID, chains: [Chain], jumps: [JumpRule]) {
        self.id = id
        self.chains = chains.sorted { $0.name < $1.name }
        self.jumps = jumps
    }
}
