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
    private static func reachingHooks(_ table: TableState) -> [ChainName: Set<BuiltinChain>] {
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
            if case .comment(let text) = match, text.utf8.count > HostPortMapping.maxCommentBytes {
                throw fail(.commentTooLong(bytes: text.utf8.count))
            }
            if let needed = portMatchProtocol(match),
               rule.proto?.proto != needed || rule.proto?.negated == true {
                throw fail(.portMatchWithoutProtocol(needed))
            }
        }
        let addresses = [rule.source?.address, rule.destination?.address] + natAddresses(rule.target)
        for case let address? in addresses where address.family != table.family {
            throw fail(.wrongFamily(address))
        }
        if let restricted = RestrictedTarget(rule.target), !restricted.permits(table.table, reachedFrom: Set(hooks)) {
            throw fail(.targetNotAllowed(restricted, table: table.table, reachedFrom: hooks))
        }
        if case .opaque(let ext) = rule.target { throw fail(.opaqueTarget(ext.name)) }
    }

    /// The protocol whose own match this is (the kernel refuses `-m tcp` without `-p tcp`).
    private static func portMatchProtocol(_ match: Match) -> IPProtocol? {
        switch match {
        case .tcp: return .tcp
        case .udp: return .udp
        case .sctp: return .sctp
        default: return nil
        }
    }

    private static func natAddresses(_ target: Target) -> [IPAddress?] {
        switch target {
        case .dnat(let nat), .snat(let nat): return [nat.minAddress, nat.maxAddress]
        default: return []
        }
    }
}

/// The targets the kernel accepts only in some tables or hooks (its xt_target table
/// and hook masks), and the rule for each.
public enum RestrictedTarget: String, Hashable, Sendable {
    case dnat = "DNAT"
    case masquerade = "MASQUERADE"
    case snat = "SNAT"
    case reject = "REJECT"
    /// The kernel would take it in nat, but iptables refuses it there: nat sees only a
    /// connection's first packet, so dropping there is never what was meant.
    case drop = "DROP"

    /// nil for targets valid anywhere (ACCEPT, RETURN, jumps, MARK, ...).
    init?(_ target: Target) {
        switch target {
        case .dnat: self = .dnat
        case .masquerade: self = .masquerade
        case .snat: self = .snat
        case .reject: self = .reject
        case .drop: self = .drop
        default: return nil
        }
    }

    /// Whether a rule in `table`, reached from `hooks`, may use this target.
    func permits(_ table: TableName, reachedFrom hooks: Set<BuiltinChain>) -> Bool {
        switch self {
        case .dnat: return table == .nat && hooks.isSubset(of: [.prerouting, .output])
        case .masquerade: return table == .nat && hooks.isSubset(of: [.postrouting])
        case .snat: return table == .nat && hooks.isSubset(of: [.postrouting, .input])
        case .reject: return table == .filter
        case .drop: return table != .nat
        }
    }

    /// The rule in words, for the error.
    var allowedPlaces: String {
        switch self {
        case .dnat: return "in nat chains reached from PREROUTING or OUTPUT"
        case .masquerade: return "in nat chains reached from POSTROUTING"
        case .snat: return "in nat chains reached from POSTROUTING or INPUT"
        case .reject: return "in the filter table"
        case .drop: return "outside the nat table"
        }
    }
}
