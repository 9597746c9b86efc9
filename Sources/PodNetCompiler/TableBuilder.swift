import PodNet

/// Gathers podnet's rules for one table of one family, concern by concern, and
/// assembles them in podnet's one shape: a PODNET-<HOOK> chain per built-in chain
/// hooked, reached by exactly one commented jump, with every other chain below those.
struct TableBuilder {
    let id: TableID
    /// Rules per built-in chain, by its `position`: there are only five hooks, so an
    /// array indexed by them, with no hashing and no generic dictionary storage.
    private var hookRules = [[Rule]](repeating: [], count: BuiltinChain.allCases.count)
    private var subchains: [Chain] = []

    init(_ family: IPFamily, _ table: TableName) {
        id = TableID(family, table)
    }

    /// The podnet chain that the jump from `hook` leads to.
    static func hookChain(_ hook: BuiltinChain) -> ChainName {
        ChainName(ChainName.podnetPrefix + hook.rawValue)
    }

    mutating func append(_ rule: Rule, to hook: BuiltinChain) {
        hookRules[hook.position].append(rule)
    }

    /// A chain below the hook chains; the caller adds the rules that jump to it.
    mutating func add(_ chain: Chain) {
        subchains.append(chain)
    }

    /// The table, or nil when podnet needs nothing in it: a chain that would be empty
    /// is not created and gets no jump.
    func build() -> TableState? {
        let hooks = id.table.builtinChains.filter { !hookRules[$0.position].isEmpty }
        guard !hooks.isEmpty else { return nil }
        let hookChains = hooks.map { hook in
            Chain(name: TableBuilder.hookChain(hook), rules: hookRules[hook.position])
        }
        let jumps = hooks.map { hook in
            JumpRule(
                builtinChain: hook,
                rule: Rule(matches: [.comment("\(JumpRule.commentPrefix) \(hook.rawValue.lowercased()) rules")],
                           target: .jump(TableBuilder.hookChain(hook))),
                placement: JumpPlacement(for: hook))
        }
        // TableState.init would sort the chains comparing names as strings, which with a
        // thousand host-port chains sharing "PODNET-HP-" cost more than building them:
        // they are put in the same (strcmp) order here from packed names and assigned.
        var table = TableState(id: id, chains: [], jumps: jumps)
        table.chains = TableBuilder.inStrcmpOrder(hookChains + subchains)
        assert(zip(table.chains, table.chains.dropFirst()).allSatisfy { !($1.name < $0.name) })
        return table
    }

    /// `chains` sorted as `ChainName`'s `<` sorts them, stably (as TableState.init does):
    /// by packed names, and by the names themselves for any too long to pack.
    static func inStrcmpOrder(_ chains: [Chain]) -> [Chain] {
        let keys = chains.map { PackedChainName($0.name) }
        let order = chains.indices.sorted { a, b in
            if let left = keys[a], let right = keys[b] { return left < right }
            return chains[a].name < chains[b].name
        }
        return order.map { chains[$0] }
    }
}
