import PodNet

/// Applies typed operations to a libiptc handle (in memory), refusing anything that
/// would touch what podnet does not own: foreign chains, foreign rules in built-in
/// chains, or a rule that is not the one the operation was computed against.
struct OperationApplier {
    let handle: LibiptcHandle
    let table: TableID
    var sets = IPSetIndexes()

    func apply(_ operation: TableOperation) throws(IptablesError) {
        switch operation {
        case .createChain(let chain):
            try requireOwnedChain(chain, operation)
            // libiptc takes up to 31 bytes, but jumps to the chain hold only 28.
            guard chain.rawValue.utf8.count <= ChainName.maxLength else {
                throw .encoding(table: table, operation: operation, reason: .invalidChainName(chain))
            }
            try call(operation) { () throws(LibiptcError) in try handle.createChain(chain.rawValue) }
        case .flushChain(let chain, _):
            try requireOwnedChain(chain, operation)
            try call(operation) { () throws(LibiptcError) in try handle.flush(chain.rawValue) }
        case .deleteChain(let chain):
            try requireOwnedChain(chain, operation)
            try call(operation) { () throws(LibiptcError) in try handle.deleteChain(chain.rawValue) }
        case .insertRule(let chain, let index, let rule):
            let entry = try encode(rule, into: chain, operation)
            try call(operation) { () throws(LibiptcError) in try handle.insert(entry, in: chain.rawValue, at: index) }
        case .appendRule(let chain, let rule):
            let entry = try encode(rule, into: chain, operation)
            try call(operation) { () throws(LibiptcError) in try handle.append(entry, in: chain.rawValue) }
        case .replaceRule(let chain, let index, let old, let new):
            let entry = try encode(new, into: chain, operation)
            try requireRule(old, in: chain, at: index, operation)
            try call(operation) { () throws(LibiptcError) in try handle.replace(entry, in: chain.rawValue, at: index) }
        case .deleteRule(let chain, let index, let rule):
            try requireRuleChain(chain, rule, operation)
            try requireRule(rule, in: chain, at: index, operation)
            try call(operation) { () throws(LibiptcError) in try handle.delete(in: chain.rawValue, at: index) }
        }
    }

    private func requireOwnedChain(_ chain: ChainName, _ operation: TableOperation) throws(IptablesError) {
        if chain.isBuiltin { throw .refused(table: table, operation: operation, reason: .builtinChain(chain)) }
        if !chain.isPodnetOwned { throw .refused(table: table, operation: operation, reason: .foreignChain(chain)) }
    }

    /// Rules go into PODNET- chains, or into built-in chains when they are podnet jumps.
    private func requireRuleChain(_ chain: ChainName, _ rule: Rule, _ operation: TableOperation) throws(IptablesError) {
        if chain.isBuiltin {
            guard rule.isPodnetJump else {
                throw .refused(table: table, operation: operation, reason: .notAPodnetJump(chain, rule))
            }
        } else if !chain.isPodnetOwned {
            throw .refused(table: table, operation: operation, reason: .foreignChain(chain))
        }
    }

    private func encode(_ rule: Rule, into chain: ChainName,
                        _ operation: TableOperation) throws(IptablesError) -> [UInt8] {
        try requireRuleChain(chain, rule, operation)
        do {
            return try EntryCodec.encode(rule, family: table.family, sets: sets)
        } catch {
            throw .encoding(table: table, operation: operation, reason: error)
        }
    }

    /// The handle must hold `expected` at `index` now: indexes were computed from an
    /// observation, and a rule that moved or is foreign must not be replaced or deleted.
    /// An undecoded entry is compared by its bytes, so a rule changed since it was
    /// observed is not deleted by mistake.
    private func requireRule(_ expected: Rule, in chain: ChainName, at index: Int,
                             _ operation: TableOperation) throws(IptablesError) {
        let found = handle.rule(in: chain.rawValue, at: index)?.decodeOrKeep(family: table.family, sets: sets).rule
        guard let found, found == expected else {
            throw .refused(table: table, operation: operation,
                           reason: .ruleMismatch(chain, index: index, found: found.map(IptablesSaveText.render)))
        }
    }

    private func call(_ operation: TableOperation, _ body: () throws(LibiptcError) -> Void) throws(IptablesError) {
        do {
            try body()
        } catch {
            throw .operationFailed(table: table, operation: operation, call: error.call, errno: error.errno,
                                   message: error.message)
        }
    }
}
