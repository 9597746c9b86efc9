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

    public init(_ set: String, _ directions: Direction..., negated: Bool = false) {
        self.set = set
        self.directions = directions
        self.negated = negated
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
