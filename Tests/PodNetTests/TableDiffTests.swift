import Testing
import PodNetTestSupport
@testable import PodNet

/// Applies operations to plain arrays, as libiptc would to its copy of the table.
struct SimulatedTable {
    var chains: [ChainName: [Rule]]

    mutating func apply(_ operations: [TableOperation]) throws {
        for operation in operations {
            switch operation {
            case .createChain(let name):
                #expect(chains[name] == nil, "creating \(name) twice")
                chains[name] = []
            case .flushChain(let name, let rules):
                #expect(chains[name] == rules)
                chains[name] = []
            case .deleteChain(let name):
                #expect(chains[name]?.isEmpty == true, "deleting non-empty \(name)")
                chains[name] = nil
            case .insertRule(let name, let index, let rule):
                try #require(index <= chains[name]!.count)
                chains[name]!.insert(rule, at: index)
            case .appendRule(let name, let rule):
                chains[name]!.append(rule)
            case .replaceRule(let name, let index, let old, let new):
                try #require(index < chains[name]!.count)
                #expect(chains[name]![index] == old)
                chains[name]![index] = new
            case .deleteRule(let name, let index, let rule):
                try #require(index < chains[name]!.count)
                #expect(chains[name]![index] == rule)
                chains[name]!.remove(at: index)
            }
        }
    }
}

private func accept(_ cidr: String) -> Rule {
    Rule(source: AddressMatch(try! IPNetwork(parsing: cidr)), target: .accept)
}

private func jump(_ chain: ChainName, _ comment: String = "podnet: test") -> Rule {
    Rule(matches: [.comment(comment)], target: .jump(chain))
}

@Suite struct TableDiffTests {
    let nat = TableID(.ipv4, .nat)

    @Test func emptyPlanWhenNothingDiffers() {
        let chain = Chain(name: "PODNET-POSTROUTING", rules: [accept("10.0.0.0/8")])
        let desired = TableState(id: nat, chains: [chain],
                                 jumps: [JumpRule(builtinChain: .postrouting, rule: jump("PODNET-POSTROUTING"), placement: .top)])
        let observed = ObservedTable(id: nat, chains: [chain],
                                     jumps: [ObservedJump(builtinChain: .postrouting, index: 3, rule: jump("PODNET-POSTROUTING"))],
                                     builtinRuleCounts: [.postrouting: 5])
        #expect(TableDiff.plan(desired: desired, observed: observed)?.operations == [])
    }

    @Test func missingJumpGoesOnTopOrAtTheEndAndPresentOnesStay() {
        let chains = [Chain(name: "PODNET-FORWARD", rules: []), Chain(name: "PODNET-PREROUTING", rules: [])]
        let desired = TableState(id: nat, chains: chains, jumps: [
            JumpRule(builtinChain: .prerouting, rule: jump("PODNET-PREROUTING"), placement: .top),
            JumpRule(builtinChain: .forward, rule: jump("PODNET-FORWARD"), placement: .appended),
        ])
        let observed = ObservedTable(id: nat, chains: chains, jumps: [], builtinRuleCounts: [.prerouting: 2, .forward: 7])
        let operations = TableDiff.plan(desired: desired, observed: observed)!.operations
        #expect(operations == [
            .insertRule("PREROUTING", index: 0, jump("PODNET-PREROUTING")),
            .appendRule("FORWARD", jump("PODNET-FORWARD")),
        ])
    }

    @Test func changedJumpIsRewrittenInPlaceAndStaleJumpsGoBeforeTheirChains() {
        let desired = TableState(id: nat, chains: [Chain(name: "PODNET-A", rules: [])], jumps: [
            JumpRule(builtinChain: .postrouting, rule: jump("PODNET-A", "podnet: new words"), placement: .top),
        ])
        let observed = ObservedTable(id: nat, chains: [Chain(name: "PODNET-A", rules: []),
                                                       Chain(name: "PODNET-OLD", rules: [accept("10.1.0.0/16")])],
                                     jumps: [ObservedJump(builtinChain: .postrouting, index: 1, rule: jump("PODNET-OLD")),
                                             ObservedJump(builtinChain: .postrouting, index: 4, rule: jump("PODNET-A"))],
                                     builtinRuleCounts: [.postrouting: 6])
        let operations = TableDiff.plan(desired: desired, observed: observed)!.operations
        #expect(operations == [
            .deleteRule("POSTROUTING", index: 1, jump("PODNET-OLD")),
            .replaceRule("POSTROUTING", index: 3, old: jump("PODNET-A"), new: jump("PODNET-A", "podnet: new words")),
            .flushChain("PODNET-OLD", rules: [accept("10.1.0.0/16")]),
            .deleteChain("PODNET-OLD"),
        ])
    }

    @Test func oneChangedRuleIsOneReplace() {
        let old = ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"].map(accept)
        let new = ["10.1.0.0/16", "10.9.0.0/16", "10.3.0.0/16"].map(accept)
        #expect(TableDiff.ruleEdits(chain: "PODNET-X", from: old, to: new)
            == [.replaceRule("PODNET-X", index: 1, old: old[1], new: new[1])])
    }

    /// Any two rule lists: the edit script turns one into the other, with no more
    /// operations than the collection difference has changes.
    @Test(arguments: 0..<200)
    func editScriptsReachTheDesiredRules(seed: Int) throws {
        var generator = SplitMix(seed: UInt64(seed))
        let pool = (0..<6).map { accept("10.\($0).0.0/16") }
        let old = (0..<Int(generator.next() % 8)).map { _ in pool[Int(generator.next() % 6)] }
        let new = (0..<Int(generator.next() % 8)).map { _ in pool[Int(generator.next() % 6)] }
        let operations = TableDiff.ruleEdits(chain: "PODNET-X", from: old, to: new)
        var table = SimulatedTable(chains: ["PODNET-X": old])
        try table.apply(operations)
        #expect(table.chains["PODNET-X"] == new, "old \(old.count) new \(new.count): \(operations)")
        #expect(operations.count <= new.difference(from: old).count)
    }

    @Test func wholeTablesConverge() throws {
        let desired = TableState(id: nat, chains: [
            Chain(name: "PODNET-HP-AAAA", rules: [accept("10.7.0.0/16")]),
            Chain(name: "PODNET-POSTROUTING", rules: [accept("10.1.0.0/16"), Rule(target: .jump("PODNET-HP-AAAA"))]),
        ], jumps: [JumpRule(builtinChain: .postrouting, rule: jump("PODNET-POSTROUTING"), placement: .top)])
        let observed = ObservedTable(id: nat, chains: [
            Chain(name: "PODNET-HP-OLD", rules: [Rule(target: .jump("PODNET-HP-OLD2"))]),
            Chain(name: "PODNET-HP-OLD2", rules: [Rule(target: .jump("PODNET-HP-OLD"))]),
            Chain(name: "PODNET-POSTROUTING", rules: [Rule(target: .jump("PODNET-HP-OLD")), accept("10.1.0.0/16")]),
        ], jumps: [], builtinRuleCounts: [.postrouting: 0])
        let operations = TableDiff.plan(desired: desired, observed: observed)!.operations
        var table = SimulatedTable(chains: Dictionary(uniqueKeysWithValues: observed.chains.map { ($0.name, $0.rules) }))
        table.chains["POSTROUTING"] = []
        try table.apply(operations)
        #expect(table.chains["PODNET-POSTROUTING"] == desired.chains[1].rules)
        #expect(table.chains["PODNET-HP-AAAA"] == desired.chains[0].rules)
        #expect(table.chains["PODNET-HP-OLD"] == nil && table.chains["PODNET-HP-OLD2"] == nil)
        #expect(table.chains["POSTROUTING"] == [jump("PODNET-POSTROUTING")])
    }
}

@Suite struct TableUndoTests {
    /// Any plan from any table to any other, then its inverse: the original comes back exactly.
    @Test(arguments: 0..<100)
    func inverseRestoresTheOriginalTable(seed: Int) throws {
        var generator = SplitMix(seed: UInt64(seed) &+ 7)
        let pool = (0..<5).map { index in
            Rule(source: AddressMatch(try! IPNetwork(parsing: "10.\(index).0.0/16")), target: .accept)
        }
        func randomChains() -> [Chain] {
            ["PODNET-A", "PODNET-B", "PODNET-C"].compactMap { name -> Chain? in
                guard generator.next() % 3 != 0 else { return nil }
                return Chain(name: ChainName(name), rules: (0..<Int(generator.next() % 5)).map { _ in pool[Int(generator.next() % 5)] })
            }
        }
        let id = TableID(.ipv4, .filter)
        let before = randomChains(), after = randomChains()
        let foreignCount = Int(generator.next() % 4)
        let jump = Rule(matches: [.comment("podnet: forward")], target: .jump("PODNET-A"))
        let hadJump = generator.next() % 2 == 0 && before.contains { $0.name == "PODNET-A" }
        let observed = ObservedTable(id: id, chains: before,
                                     jumps: hadJump ? [ObservedJump(builtinChain: .forward, index: foreignCount, rule: jump)] : [],
                                     builtinRuleCounts: [.forward: foreignCount + (hadJump ? 1 : 0)])
        let wantsJump = after.contains { $0.name == "PODNET-A" }
        let desired = TableState(id: id, chains: after,
                                 jumps: wantsJump ? [JumpRule(builtinChain: .forward, rule: jump, placement: .appended)] : [])
        let operations = TableDiff.plan(desired: desired, observed: observed)!.operations

        var lengths: [ChainName: Int] = [.forward: observed.builtinRuleCounts[.forward]!]
        var table = SimulatedTable(chains: [.forward: Array(repeating: Rule(target: .drop), count: foreignCount)
                                            + (hadJump ? [jump] : [])])
        for chain in before {
            lengths[chain.name] = chain.rules.count
            table.chains[chain.name] = chain.rules
        }
        let original = table.chains
        try table.apply(operations)
        #expect(table.chains["PODNET-A"] == after.first { $0.name == "PODNET-A" }?.rules)
        try table.apply(TableOperation.inverse(of: operations, chainLengths: lengths))
        #expect(table.chains == original, "seed \(seed): \(operations)")
    }
}
