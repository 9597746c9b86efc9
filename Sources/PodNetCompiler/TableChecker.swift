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
        // Chains by index from here on: a table with a thousand host ports has two
        // thousand chains, and hashing their names at every step cost more than the rest.
        // Keyed by packed names, which hash and compare in a few instructions.
        var indexByName = ChainIndex()
        indexByName.reserveCapacity(table.chains.count)
        for (index, chain) in table.chains.enumerated() {
            let length = chain.name.rawValue.utf8.count
            guard length <= ChainName.maxLength else {
                throw .invalidChain(table: id, chain: chain.name, problem: .nameTooLong(length: length))
            }
            guard chain.name.isPodnetOwned else {
                throw .invalidChain(table: id, chain: chain.name, problem: .notPodnetOwned)
            }
            guard indexByName.insert(chain.name, at: index) else {
                throw .invalidChain(table: id, chain: chain.name, problem: .declaredTwice)
            }
        }

        try checkJumps(table, indexByName)
        var successors = [[Int]](repeating: [], count: table.chains.count)
        for (index, chain) in table.chains.enumerated() {
            try chain.rules.withUnsafeBufferPointer { rules throws(CompileError) in
                for number in rules.indices {
                    guard let target = rules[number].target.chainReference else { continue }
                    guard let next = indexByName[target] else {
                        throw .invalidRule(table: id, location: .chain(chain.name, number: number + 1),
                                           rule: rules[number], problem: .unknownChain(target))
                    }
                    successors[index].append(next)
                }
            }
        }
        try checkAcyclic(table, successors)

        let hooks = reachingHooks(table, indexByName, successors)
        for (index, chain) in table.chains.enumerated() where hooks[index].isEmpty {
            throw .invalidChain(table: id, chain: chain.name, problem: .unreachable)
        }
        for jump in table.jumps {
            try withUnsafePointer(to: jump.rule) { rule throws(CompileError) in
                try checkRule(rule, at: .jump(from: jump.builtinChain), in: id,
                              reachedFrom: BuiltinChainSet(jump.builtinChain))
            }
        }
        for index in table.chains.indices {
            let chain = table.chains[index]
            try chain.rules.withUnsafeBufferPointer { rules throws(CompileError) in
                for number in rules.indices {
                    try checkRule(rules.baseAddress! + number, at: .chain(chain.name, number: number + 1), in: id,
                                  reachedFrom: hooks[index])
                }
            }
        }
    }

    private static func checkJumps(_ table: TableState, _ indexByName: ChainIndex) throws(CompileError) {
        // The built-in chains are five, so the ones jumped from fit in a bit set.
        var jumpedFrom: BuiltinChainSet = []
        for jump in table.jumps {
            func fail(_ problem: RuleProblem) -> CompileError {
                .invalidRule(table: table.id, location: .jump(from: jump.builtinChain), rule: jump.rule, problem: problem)
            }
            guard table.id.table.builtinChains.contains(jump.builtinChain) else { throw fail(.builtinChainNotInTable) }
            guard jumpedFrom.insert(BuiltinChainSet(jump.builtinChain)).inserted else { throw fail(.duplicateJump) }
            guard case .comment(let text) = jump.rule.matches.first, text.hasPrefix(JumpRule.commentPrefix) else {
                throw fail(.jumpWithoutPodnetComment)
            }
            guard case .jump(let target) = jump.rule.target, target.isPodnetOwned else {
                throw fail(.jumpNotToPodnetChain)
            }
            guard indexByName[target] != nil else { throw fail(.unknownChain(target)) }
        }
    }

    /// Depth first from each chain in table order; the first cycle found is reported
    /// as the chains along it, back to where it closes.
    private static func checkAcyclic(_ table: TableState, _ successors: [[Int]]) throws(CompileError) {
        var finished = [Bool](repeating: false, count: successors.count)
        var onPath = [Bool](repeating: false, count: successors.count)
        var path: [Int] = []

        func visit(_ chain: Int) -> [Int]? {
            if onPath[chain], let start = path.firstIndex(of: chain) { return Array(path[start...]) + [chain] }
            if finished[chain] { return nil }
            path.append(chain)
            onPath[chain] = true
            for next in successors[chain] {
                if let cycle = visit(next) { return cycle }
            }
            path.removeLast()
            onPath[chain] = false
            finished[chain] = true
            return nil
        }

        for chain in successors.indices {
            if let cycle = visit(chain) { throw .jumpCycle(table: table.id, chains: cycle.map { table.chains[$0].name }) }
        }
    }

    /// For each chain, the built-in chains it is reached from.
    private static func reachingHooks(_ table: TableState, _ indexByName: ChainIndex,
                                      _ successors: [[Int]]) -> [BuiltinChainSet] {
        var hooks = [BuiltinChainSet](repeating: [], count: successors.count)
        for jump in table.jumps {
            guard let target = jump.rule.target.chainReference, let entry = indexByName[target] else { continue }
            let hook = BuiltinChainSet(jump.builtinChain)
            var pending = [entry]
            while let chain = pending.popLast() {
                guard !hooks[chain].contains(hook) else { continue }
                hooks[chain].insert(hook)
                pending += successors[chain]
            }
        }
        return hooks
    }

    /// `rule` points into its chain's buffer: passed by value, each of the thousands of
    /// rules was copied (its arrays and strings retained and released) to be checked.
    private static func checkRule(_ rule: UnsafePointer<Rule>, at location: RuleLocation, in table: TableID,
                                  reachedFrom hooks: BuiltinChainSet) throws(CompileError) {
        func fail(_ problem: RuleProblem) -> CompileError {
            .invalidRule(table: table, location: location, rule: rule.pointee, problem: problem)
        }
        for match in rule.pointee.matches {
            if case .comment(let text) = match, text.utf8.count > HostPortMapping.maxCommentBytes {
                throw fail(.commentTooLong(bytes: text.utf8.count))
            }
            if let needed = portMatchProtocol(match),
               rule.pointee.proto?.proto != needed || rule.pointee.proto?.negated == true {
                throw fail(.portMatchWithoutProtocol(needed))
            }
        }
        // Address by address rather than gathered in an array: one allocation per rule.
        func checkFamily(_ address: IPAddress?) throws(CompileError) {
            if let address, address.family != table.family { throw fail(.wrongFamily(address)) }
        }
        try checkFamily(rule.pointee.source?.address)
        try checkFamily(rule.pointee.destination?.address)
        switch rule.pointee.target {
        case .dnat(let nat), .snat(let nat):
            try checkFamily(nat.minAddress)
            try checkFamily(nat.maxAddress)
        case .opaque(let ext):
            throw fail(.opaqueTarget(ext.name))
        default: break
        }
        if let restricted = RestrictedTarget(rule.pointee.target), !restricted.permits(table.table, reachedFrom: hooks) {
            throw fail(.targetNotAllowed(restricted, table: table.table, reachedFrom: hooks.chains))
        }
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

}

/// Built-in chains as bits, one per `BuiltinChain.allCases` position: the hooks
/// reaching each of thousands of rules, tested without building a Set per rule.
struct BuiltinChainSet: OptionSet, Hashable, Sendable {
    let rawValue: UInt8

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ chain: BuiltinChain) {
        rawValue = 1 << chain.position
    }

    /// The chains, in `BuiltinChain.allCases` order.
    var chains: [BuiltinChain] {
        BuiltinChain.allCases.filter { contains(BuiltinChainSet($0)) }
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
    func permits(_ table: TableName, reachedFrom hooks: BuiltinChainSet) -> Bool {
        switch self {
        case .dnat: return table == .nat && hooks.isSubset(of: [BuiltinChainSet(.prerouting), BuiltinChainSet(.output)])
        case .masquerade: return table == .nat && hooks.isSubset(of: BuiltinChainSet(.postrouting))
        case .snat: return table == .nat && hooks.isSubset(of: [BuiltinChainSet(.postrouting), BuiltinChainSet(.input)])
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

/// The table's chains by name, keyed by packed name. Every name is within the
/// kernel's limit once checked, so a name too long to pack is in no table.
private struct ChainIndex {
    private var indexes: [PackedChainName: Int] = [:]

    mutating func reserveCapacity(_ count: Int) { indexes.reserveCapacity(count) }

    /// False when the name was already there. `name` fits: checked before.
    mutating func insert(_ name: ChainName, at index: Int) -> Bool {
        indexes.updateValue(index, forKey: PackedChainName(name)!) == nil
    }

    subscript(name: ChainName) -> Int? {
        PackedChainName(name).flatMap { indexes[$0] }
    }
}
