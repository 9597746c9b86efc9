/// `-m set [!] --match-set NAME src|dst[,src|dst...]`: the packet's addresses (one per
/// dimension of the set, in order) looked up in an ipset.
public struct SetMatch: Sendable, Hashable {
    public enum Direction: String, Sendable, Hashable {
        case source = "src"
        case destination = "dst"
    }

    public var set: String
    public var directions: [Direction]
    public var negated: Bool
    /// The interface dimension of a hash:net,iface set is the bridge port the packet
    /// came in (`src`) or goes out (`dst`) on, not the bridge (IPSET_FLAG_PHYSDEV in the
    /// match's flags). For a bridged packet, FORWARD's in and out interface is the bridge
    /// itself, so this is how a set tells pods' ports apart. `iptables` has no option for
    /// it and iptables-save does not print it: the rule's comment says so.
    public var bridgePorts: Bool

    public init(_ set: String, _ directions: Direction..., negated: Bool = false, bridgePorts: Bool = false) {
        self.set = set
        self.directions = directions
        self.negated = negated
        self.bridgePorts = bridgePorts
    }
}

/// The kernel's numbers for its ipsets: a rule names a set by its index, which only
/// the kernel of that network namespace can turn back into a name (and a name into
/// one), so the rule codec is handed this table, read from the kernel beside the rules.
public struct IPSetIndexes: Sendable, Hashable {
    public private(set) var byName: [String: UInt16] = [:]
    public private(set) var byIndex: [UInt16: String] = [:]

    public init(_ pairs: [(name: String, index: UInt16)] = []) {
        for (name, index) in pairs {
            byName[name] = index
            byIndex[index] = name
        }
    }
}
