import Testing
@testable import PodNet

/// NetworkPolicy's part of a filter table, kept as found by a run that compiles no List.
@Suite struct PolicyPartTests {
    static let id = TableID(.ipv4, .filter)
    static let forward = ChainName("PODNET-FORWARD")
    static let accept = Rule(matches: [.comment("podnet: forward traffic from pods")], target: .accept)
    static let policyJump = Rule(matches: [.comment("podnet: network policy")], target: .jump(.policy))
    static let policyChains = [Chain(name: .policy, rules: [Rule(target: .jump(.policyEgress))]),
                               Chain(name: .policyEgress, rules: [Rule(target: .drop)])]
    static let forwardJump = Rule(matches: [.comment("podnet: forward")], target: .jump(forward))

    static func observed(forwardRules: [Rule]) -> ObservedTable {
        ObservedTable(id: id, chains: policyChains + [Chain(name: forward, rules: forwardRules)],
                      jumps: [ObservedJump(builtinChain: .forward, index: 3, rule: forwardJump)])
    }

    @Test func theChainsAndTheJumpStayWhereTheyWere() {
        let desired = TableState(id: Self.id, chains: [Chain(name: Self.forward, rules: [Self.accept])],
                                 jumps: [JumpRule(builtinChain: .forward, rule: Self.forwardJump, placement: .appended)])
        let kept = TableState.keepingPolicy(desired, of: Self.observed(forwardRules: [Self.policyJump, Self.accept]), id: Self.id)
        #expect(kept?.chains.map(\.name) == [.policyEgress, Self.forward, .policy].sorted())
        #expect(kept?.chains.first { $0.name == Self.forward }?.rules == [Self.policyJump, Self.accept])
        #expect(kept?.jumps == desired.jumps)
        // What the node config decides is unchanged by it.
        #expect(kept?.withoutPolicy == desired)
        // Nothing of the policy found: the desired table as it is.
        #expect(TableState.keepingPolicy(desired, of: ObservedTable(id: Self.id), id: Self.id) == desired)
    }

    /// forward-accept off: the config wants no filter table, but the policy's jump lives
    /// in PODNET-FORWARD, which stays with that jump alone and its jump from FORWARD.
    @Test func aChainThatHeldOnlyThePolicyJumpStays() {
        let kept = TableState.keepingPolicy(nil, of: Self.observed(forwardRules: [Self.policyJump]), id: Self.id)
        #expect(kept?.chains.first { $0.name == Self.forward }?.rules == [Self.policyJump])
        #expect(kept?.jumps == [JumpRule(builtinChain: .forward, rule: Self.forwardJump, placement: .appended)])
        let names = Set(kept?.chains.map(\.name) ?? [])
        #expect(names == [Self.forward, .policy, .policyEgress])
    }
}
