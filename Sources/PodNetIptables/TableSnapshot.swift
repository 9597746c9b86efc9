import PodNet

/// One table as libiptc read it: podnet's chains in full, the built-in chains with
/// their policies and podnet's jumps among foreign entries, and foreign chains by
/// name. Foreign entries are kept as bytes and decoded only when asked: a
/// kube-proxy table holds tens of thousands of them.
public struct TableSnapshot: Sendable {
    public var id: TableID
    /// In the table's hook order.
    public var builtinChains: [BuiltinChainSnapshot]
    /// The PODNET- chains, in strcmp order.
    public var podnetChains: [PodnetChainSnapshot]
    /// Every other user chain, in strcmp order.
    public var foreignChains: [ForeignChainSnapshot]
    /// False when the snapshot was taken without the foreign chains' rules: their
    /// `entries` are then empty whatever the chains hold.
    public var foreignChainEntriesRead: Bool

    public func builtinChain(_ chain: BuiltinChain) -> BuiltinChainSnapshot? {
        builtinChains.first { $0.chain == chain }
    }

    public func podnetChain(_ name: ChainName) -> PodnetChainSnapshot? {
        podnetChains.first { $0.name == name }
    }

    /// podnet's part, as the diff consumes it.
    public var observed: ObservedTable {
        var jumps: [ObservedJump] = [], counts: [BuiltinChain: Int] = [:]
        for builtin in builtinChains {
            counts[builtin.chain] = builtin.entries.count
            for (index, entry) in builtin.entries.enumerated() {
                if case .podnetJump(let jump) = entry {
                    jumps.append(ObservedJump(builtinChain: builtin.chain, index: index, rule: jump.rule))
                }
            }
        }
        return ObservedTable(id: id, chains: podnetChains.map { Chain(name: $0.name, rules: $0.rules.map(\.rule)) },
                             jumps: jumps, builtinRuleCounts: counts)
    }
}

extension TableSnapshot {
    /// A table with nothing in it: what a kernel without the family holds.
    init(emptyTable id: TableID) {
        self.init(id: id, builtinChains: [], podnetChains: [], foreignChains: [], foreignChainEntriesRead: true)
    }
}

/// A rule with the counters the kernel keeps for it.
public struct CountedRule: Sendable, Hashable {
    public var rule: Rule
    public var counters: PacketCounters

    public init(rule: Rule, counters: PacketCounters) {
        self.rule = rule
        self.counters = counters
    }
}

/// A built-in chain's policy.
public enum ChainPolicy: String, Sendable, Hashable {
    case accept = "ACCEPT"
    case drop = "DROP"
}

public struct BuiltinChainSnapshot: Sendable {
    public var chain: BuiltinChain
    public var policy: ChainPolicy
    public var policyCounters: PacketCounters
    /// Every entry in order: podnet's jumps decoded, the rest positioned only.
    public var entries: [BuiltinEntry]
}

public enum BuiltinEntry: Sendable {
    /// podnet's jump: a comment starting "podnet:" and a jump or goto to a PODNET- chain.
    case podnetJump(CountedRule)
    case foreign(ForeignEntry)
}

public struct PodnetChainSnapshot: Sendable, Hashable {
    public var name: ChainName
    public var rules: [CountedRule]
}

public struct ForeignChainSnapshot: Sendable {
    public var name: ChainName
    public var entries: [ForeignEntry]
}

/// A rule podnet does not own, kept as the kernel's bytes.
public struct ForeignEntry: Sendable {
    public let table: TableID
    public let chain: ChainName
    /// 0-based position in its chain.
    public let index: Int
    let raw: LibiptcHandle.RawRule

    /// The rule, decoded on request (an unmodelled header field is an error naming
    /// table, chain and index; unmodelled extensions come back opaque).
    public func decode() throws(IptablesError) -> DecodedEntry {
        try raw.decode(table: table, chain: chain, index: index)
    }
}

extension Rule {
    /// podnet's mark on a jump from a built-in chain: a comment starting "podnet:"
    /// and a jump (or goto) to a PODNET- chain.
    var isPodnetJump: Bool {
        guard let comment, comment.hasPrefix(JumpRule.commentPrefix),
              let chain = target.chainReference else { return false }
        return chain.isPodnetOwned
    }
}
