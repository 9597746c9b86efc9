/// Computes the fewest table operations from an observed table to the desired one.
///
/// Only podnet's chains and jumps are considered: foreign rules never appear in
/// the result. A podnet jump that is present stays where it is, so podnet does
/// not fight other tools over order; a missing one goes on top (nat) or at the
/// end (FORWARD) as its placement says.
public enum TableDiff {
    public static func plan(desired: TableState?, observed: ObservedTable?) -> TablePlan? {
        guard let id = desired?.id ?? observed?.id else { return nil }
        let wanted = desired?.chains ?? []
        let found = observed?.chains ?? []
        // Found chains by name: a node with a thousand host ports has a thousand chains.
        var foundIndex: [ChainName: Int] = [:]
        foundIndex.reserveCapacity(found.count)
        for (index, chain) in found.enumerated() { foundIndex[chain.name] = index }
        let wantedNames = Set(wanted.map(\.name))
        let missing = wanted.filter { foundIndex[$0.name] == nil }
        var operations: [TableOperation] = []
        // Room for every operation of the missing chains up front: growing an array of
        // operations copies (and retains) every rule in it.
        operations.reserveCapacity(missing.reduce(missing.count + 16) { $0 + $1.rules.count })

        // Chains first, so every jump below has its target.
        for chain in missing {
            operations.append(.createChain(chain.name))
        }
        for chain in missing {
            for rule in chain.rules { operations.append(.appendRule(chain.name, rule)) }
        }
        for chain in wanted {
            guard let index = foundIndex[chain.name] else { continue }
            operations += ruleEdits(chain: chain.name, from: found[index].rules, to: chain.rules)
        }

        operations += jumpEdits(desired: desired?.jumps ?? [], observed: observed)

        // Stale chains last: emptied together first, since they may refer to each other.
        let stale = found.filter { !wantedNames.contains($0.name) }
        operations += stale.filter { !$0.rules.isEmpty }.map { .flushChain($0.name, rules: $0.rules) }
        operations += stale.map { .deleteChain($0.name) }

        return TablePlan(id: id, operations: operations)
    }

    /// An edit script over one chain's rules, each index valid for the chain as the
    /// operations before it left it. A removal and an insertion at the same place
    /// become one replace.
    static func ruleEdits(chain: ChainName, from old: [Rule], to new: [Rule]) -> [TableOperation] {
        let difference = new.difference(from: old)
        var removed = Set<Int>(), inserted = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        var operations: [TableOperation] = []
        var oldIndex = 0, newIndex = 0, position = 0
        while oldIndex < old.count || newIndex < new.count {
            let removing = oldIndex < old.count && removed.contains(oldIndex)
            let inserting = newIndex < new.count && inserted.contains(newIndex)
            switch (removing, inserting) {
            case (true, true):
                operations.append(.replaceRule(chain, index: position, old: old[oldIndex], new: new[newIndex]))
                oldIndex += 1
                newIndex += 1
                position += 1
            case (true, false):
                operations.append(.deleteRule(chain, index: position, old[oldIndex]))
                oldIndex += 1
            case (false, true):
                operations.append(.insertRule(chain, index: position, new[newIndex]))
                newIndex += 1
                position += 1
            case (false, false):
                oldIndex += 1
                newIndex += 1
                position += 1
            }
        }
        return operations
    }

    /// Keeps present jumps where they are, rewrites a changed one in place,
    /// removes stale ones and places missing ones.
    static func jumpEdits(desired: [JumpRule], observed: ObservedTable?) -> [TableOperation] {
        var remaining = observed?.jumps ?? []
        var replacements: [(ObservedJump, Rule)] = []
        var missing: [JumpRule] = []
        for jump in desired {
            if let exact = remaining.firstIndex(where: { $0.builtinChain == jump.builtinChain && $0.rule == jump.rule }) {
                remaining.remove(at: exact)
            } else if let sameTarget = remaining.firstIndex(where: {
                $0.builtinChain == jump.builtinChain && $0.rule.target == jump.rule.target
            }) {
                replacements.append((remaining.remove(at: sameTarget), jump.rule))
            } else {
                missing.append(jump)
            }
        }

        var operations: [TableOperation] = []
        // Deletions from the highest index down, so the lower indexes stay valid.
        let stale = remaining.sorted { ($0.builtinChain.rawValue, $0.index) > ($1.builtinChain.rawValue, $1.index) }
        for jump in stale {
            operations.append(.deleteRule(jump.builtinChain.name, index: jump.index, jump.rule))
        }
        for (jump, rule) in replacements {
            let shift = stale.filter { $0.builtinChain == jump.builtinChain && $0.index < jump.index }.count
            operations.append(.replaceRule(jump.builtinChain.name, index: jump.index - shift, old: jump.rule, new: rule))
        }
        for jump in missing {
            switch jump.placement {
            case .top: operations.append(.insertRule(jump.builtinChain.name, index: 0, jump.rule))
            case .appended: operations.append(.appendRule(jump.builtinChain.name, jump.rule))
            }
        }
        return operations
    }
}
