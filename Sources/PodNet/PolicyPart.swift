/// NetworkPolicy's part of a filter table: its chains (`ChainName.policyChains`) and the
/// rules that jump to them. The cluster's List decides it (`podnet apply --cluster`,
/// `podnet watch`), the node config the rest; a CNI request compiles the node config
/// alone, reads no List, and must neither remove nor change that part.
extension TableState {
    static func isPolicyJump(_ rule: Rule) -> Bool {
        if case .jump(let chain) = rule.target { return ChainName.policyChains.contains(chain) }
        return false
    }

    /// The table without NetworkPolicy's chains and the rules that jump to them: what the
    /// node config decides (the node stamp's digest sums it).
    public var withoutPolicy: TableState {
        TableState(id: id,
                   chains: chains.filter { !ChainName.policyChains.contains($0.name) }.map { chain in
                       Chain(name: chain.name, rules: chain.rules.filter { !Self.isPolicyJump($0) })
                   },
                   jumps: jumps.filter { !Self.isPolicyJump($0.rule) })
    }

    /// `desired` (compiled without the List; nil when the config wants nothing in this
    /// table) with NetworkPolicy's part as `observed` holds it: its chains as found, and
    /// each jump to them at the place it was found in its chain. A chain of podnet's that
    /// held only such a jump (PODNET-FORWARD when forward-accept is off) is kept with
    /// that jump, and so is the built-in chain's jump into it.
    public static func keepingPolicy(_ desired: TableState?, of observed: ObservedTable?, id: TableID) -> TableState? {
        guard let observed, observed.chains.contains(where: { ChainName.policyChains.contains($0.name) }) else {
            return desired
        }
        var chains = (desired?.chains ?? []).filter { !ChainName.policyChains.contains($0.name) }
        var jumps = desired?.jumps ?? []
        for found in observed.chains {
            if ChainName.policyChains.contains(found.name) {
                chains.append(found)
                continue
            }
            let policyJumps = found.rules.enumerated().filter { isPolicyJump($0.element) }
            guard !policyJumps.isEmpty else { continue }
            if let index = chains.firstIndex(where: { $0.name == found.name }) {
                for (position, rule) in policyJumps where !chains[index].rules.contains(rule) {
                    chains[index].rules.insert(rule, at: min(position, chains[index].rules.count))
                }
            } else {
                chains.append(Chain(name: found.name, rules: policyJumps.map(\.element)))
                for jump in observed.jumps {
                    guard case .jump(let target) = jump.rule.target, target == found.name else { continue }
                    jumps.append(JumpRule(builtinChain: jump.builtinChain, rule: jump.rule,
                                          placement: JumpPlacement(for: jump.builtinChain)))
                }
            }
        }
        return TableState(id: id, chains: chains, jumps: jumps)
    }
}
