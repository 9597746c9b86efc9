extension TableOperation {
    /// The operations that undo `operations`, given how many rules each chain they
    /// touch held before (built-in chains included): applied in order after
    /// `operations`, they leave every chain as it was, rules at their old places.
    ///
    /// Appends are turned into deletes at the index they landed on, which is why
    /// the chain lengths are needed.
    public static func inverse(of operations: [TableOperation], chainLengths: [ChainName: Int]) -> [TableOperation] {
        var lengths = chainLengths
        var undo: [[TableOperation]] = []
        for operation in operations {
            switch operation {
            case .createChain(let chain):
                lengths[chain] = 0
                undo.append([.deleteChain(chain)])
            case .flushChain(let chain, let rules):
                lengths[chain] = 0
                undo.append(rules.enumerated().map { .insertRule(chain, index: $0.offset, $0.element) })
            case .deleteChain(let chain):
                lengths[chain] = nil
                undo.append([.createChain(chain)])
            case .insertRule(let chain, let index, let rule):
                lengths[chain, default: 0] += 1
                undo.append([.deleteRule(chain, index: index, rule)])
            case .appendRule(let chain, let rule):
                let index = lengths[chain, default: 0]
                lengths[chain] = index + 1
                undo.append([.deleteRule(chain, index: index, rule)])
            case .replaceRule(let chain, let index, let old, let new):
                undo.append([.replaceRule(chain, index: index, old: new, new: old)])
            case .deleteRule(let chain, let index, let rule):
                lengths[chain, default: 1] -= 1
                undo.append([.insertRule(chain, index: index, rule)])
            }
        }
        return undo.reversed().flatMap { $0 }
    }
}
