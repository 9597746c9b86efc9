/// One edit of one iptables table. A table's operations apply in order, within
/// a single libiptc commit, with indexes meant for the state left by the ones before.
///
/// Indirect: a rule is some 250 bytes inline and a replace holds two, so a plan of
/// thousands of operations would be megabytes of array (copied as it grows, and faulted
/// in page by page); boxed, an operation is one reference.
public indirect enum TableOperation: Sendable, Hashable {
    case createChain(ChainName)
    /// Empties a chain (so that chains referring to each other can all go).
    case flushChain(ChainName, rules: [Rule])
    case deleteChain(ChainName)
    /// 0-based; an index equal to the chain's length appends.
    case insertRule(ChainName, index: Int, Rule)
    case appendRule(ChainName, Rule)
    case replaceRule(ChainName, index: Int, old: Rule, new: Rule)
    case deleteRule(ChainName, index: Int, Rule)

    public var chain: ChainName {
        switch self {
        case .createChain(let chain), .flushChain(let chain, _), .deleteChain(let chain),
             .insertRule(let chain, _, _), .appendRule(let chain, _), .replaceRule(let chain, _, _, _),
             .deleteRule(let chain, _, _):
            return chain
        }
    }
}

/// The operations that turn one observed table into the desired one.
public struct TablePlan: Sendable, Hashable {
    public var id: TableID
    public var operations: [TableOperation]

    public init(id: TableID, operations: [TableOperation]) {
        self.id = id
        self.operations = operations
    }
}
