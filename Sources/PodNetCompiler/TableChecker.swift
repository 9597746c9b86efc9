import PodNet

/// Checks a table podnet is about to write against what the kernel (and podnet's
/// own ownership rules) accept, so that a defect is reported with its chain and
/// rule before anything reaches the kernel, which would only answer EINVAL or ELOOP.
///
/// It takes a `TableState`, not a config, so that it can be tested on deliberately
/// wrong, hand-made tables.
public enum TableChecker {
    public static func check(_ table: TableState) throws(CompileError) {
        let id = table.id
        var seen = Set<ChainName>()
        for chain in table.chains {
            let length = chain.name.rawValue.utf8.count
            guard length <= ChainName.maxLength else {
                throw .invalidChain(table: id, chain: chain.name, problem: .nameTooLong(length: length))
            }
            guard chain.name.isPodnetOwned else {
                throw .invalidChain(table: id, chain: chain.name, problem: .notPodnetOwned)
            }
            guard seen.insert(chain.name).inserted else {
                throw .invalidChain(table: id, chain: chain.name, problem: .declaredTwice)
            }
        }

        try checkJumps(table)
        for chain in table.chains {
            for (index, rule) in chain.rules.enumerated() {
                if let target = rule.target.chainReference, !seen.contains(target) {
                    throw .invalidRule(table: id, location: .chain(chain.name, number: index + 1), rule: rule,
                                       problem: .unknownChain(target))
                }
            }
        }
        try checkAcyclic(table)

        let hooks = reachingHooks(table)
        for chain in table.chains where hooks[chain.name, default: []].isEmpty {
            throw .invalidChain(table: id, chain: chain.name, problem: .unreachable)
        }
        for jump in table.jumps {
            try checkRule(jump.rule, at: .jump(from: jump.builtinChain), in: id, reachedFrom: [jump.builtinChain])
        }
        for chain in table.chains {
            let reachedFrom = BuiltinChain.allCases.filter { hooks[chain.name, default: []].contains($0) }
            for (index, rule) in chain.rules.enumerated() {
                try checkRule(rule, at: .chain(chain.name, number: index + 1), in: id, reachedFrom: reachedFrom)
            }
        }
    }

    /// Each jump: from a built-in chain of this table, at most one per built-in chain,
    /// into a podnet chain of this table, with the comment podnet recognises it by.
    private static func checkJumps(_ table: TableState) throws(CompileError) {
        let chainNames = Set(table.chains.map(\.name))
        var jumpedFrom = Set<BuiltinChain>()
        for jump in table.jumps {
            func fail(_ problem: RuleProblem) -> CompileError {
                .invalidRule(table: table.id, location: .jump(from: jump.builtinChain), rule: jump.rule, problem: problem)
            }
            guard table.id.table.builtinChains.contains(jump.builtinChain) else { throw fail(.builtinChainNotInTable) }
            guard jumpedFrom.insert(jump.builtinChain).inserted else { throw fail(.duplicateJump) }
            guard case .comment(let text) = jump.rule.matches.first, text.hasPrefix(JumpRule.commentPrefix) else {
                throw fail(.jumpWithoutPodnetComment)
            }
            guard case .jump(let target) = jump.rule.target, target.isPodnetOwned else {
                throw fail(.jumpNotToPodnetChain)
            }
            guard chainNames.contains(target) else { throw fail(.unknownChain(target)) }
        }
    }

    /// Depth-first search over podnet's chains; a chain met again while still on the
    /// path closes a cycle, reported from its first appearance.
    private static func checkAcyclic(_ table: TableState) throws(CompileError) {
        let successors = Dictionary(uniqueKeysWithValues: table.chains.map { chain in
            (chain.name, chain.rules.compactMap(\.target.chainReference))
        })
        var finished = Set<ChainName>()
        var path: [ChainName] = []

        func visit(_ chain: ChainName) -> [ChainName]? {
            if let start = path.firstIndex(of: chain) { return Array(path[start...]) + [chain] }
            if finished.contains(chain) { return nil }
            path.append(chain)
            for next in successors[chain, default: []] {
                if let cycle = visit(next) { return cycle }
            }
            path.removeLast()
            finished.insert(chain)
            return nil
        }

        for chain in table.chains {
            if let cycle = visit(chain.name) { throw .jumpCycle(table: table.id, chains: cycle) }
        }
    }

    /// The built-in chains (hooks) from which each podnet chain can be reached.
    /// Called only on an acyclic table with known targets.
    static func reachingHooks(_ table: TableState) -> [ChainName: Set<BuiltinChain>] {
        let rulesByChain = Dictionary(uniqueKeysWithValues: table.chains.map { ($0.name, $0.rules) })
        var hooks: [ChainName: Set<BuiltinChain>] = [:]
        for jump in table.jumps {
            guard let entry = jump.rule.target.chainReference else { continue }
            var pending = [entry]
            while let chain = pending.popLast() {
                guard hooks[chain, default: []].insert(jump.builtinChain).inserted else { continue }
                pending += rulesByChain[chain, default: []].compactMap(\.target.chainReference)
            }
        }
        return hooks
    }

    private static func checkRule(_ rule: Rule, at location: RuleLocation, in table: TableID,
                                  reachedFrom hooks: [BuiltinChain]) throws(CompileError) {
        func fail(_ problem: RuleProblem) -> CompileError {
            .invalidRule(table: table, location: location, rule: rule, problem: problem)
        }
        for match in rule.matches {
            switch match {
            case .comment(let text):
                let bytes = text.utf8.count
                guard bytes <= HostPortMapping.maxCommentBytes else { throw fail(.commentTooLong(bytes: bytes)) }
            case .tcp, .udp, .sctp:
                let wanted: IPProtocol = match.extensionName == "tcp" ? .tcp : match.extensionName == "udp" ? .udp : .sctp
                guard let proto = rule.proto, proto.proto == wanted, !proto.negated else {
                    throw fail(.portMatchWithoutProtocol(match: match.extensionName))
                }
            default:
                break
            }
        }
        let addresses = [rule.source?.address, rule.destination?.address] + natAddresses(rule.target)
        for case let address? in addresses where address.family != table.family {
            throw fail(.wrongFamily(address))
        }
        if let placement = TargetPlacement(rule.target), !placement.permits(table.table, Set(hooks)) {
            throw fail(.targetNotAllowed(target: placement.target, allowed: placement.allowed,
                                         table: table.table, reachedFrom: hooks))
        }
        if case .opaque(let ext) = rule.target { throw fail(.opaqueTarget(ext.name)) }
    }

    private static func natAddresses(_ target: Target) -> [IPAddress?] {
        switch target {
        case .dnat(let nat), .snat(let nat): return [nat.minAddress, nat.maxAddress]
        default: return []
        }
    }
}

/// Where a target may be used: the kernel's table and hook masks for it (xt_target),
/// in words for the error and as a test on the table and the hooks reaching a rule.
private struct TargetPlacement {
    let target: String
    let allowed: String
    let permits: (TableName, Set<BuiltinChain>) -> Bool

    /// nil for targets valid anywhere (ACCEPT, RETURN, jumps, MARK, ...).
    init?(_ target: Target) {
        switch target {
        case .dnat:
            self.init("DNAT", "in nat chains reached from PREROUTING or OUTPUT") { table, hooks in
                table == .nat && hooks.isSubset(of: [.prerouting, .output])
            }
        case .masquerade:
            self.init("MASQUERADE", "in nat chains reached from POSTROUTING") { table, hooks in
                table == .nat && hooks.isSubset(of: [.postrouting])
            }
        case .snat:
            self.init("SNAT", "in nat chains reached from POSTROUTING or INPUT") { table, hooks in
                table == .nat && hooks.isSubset(of: [.postrouting, .input])
            }
        case .reject:
            self.init("REJECT", "in the filter table") { table, _ in table == .filter }
        case .drop:
            // The kernel would take it, but iptables refuses DROP in nat: nat sees only
            // a connection's first packet, so dropping there is never what was meant.
            self.init("DROP", "outside the nat table") { table, _ in table != .nat }
        default:
            return nil
        }
    }

    private init(_ target: String, _ allowed: String, permits: @escaping (TableName, Set<BuiltinChain>) -> Bool) {
        self.target = target
        self.allowed = allowed
        self.permits = permits
    }
}
