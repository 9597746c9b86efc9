import Testing
import PodNet
@testable import PodNetCompiler

/// The checker on hand-made tables, each wrong in one way, next to the right one.
@Suite struct TableCheckerTests {
    static let nat4 = TableID(.ipv4, .nat)
    static let filter4 = TableID(.ipv4, .filter)

    static func jump(from hook: BuiltinChain, to chain: ChainName, comment: String? = nil,
                     placement: JumpPlacement = .top) -> JumpRule {
        JumpRule(builtinChain: hook,
                 rule: Rule(matches: [.comment(comment ?? "podnet: \(hook.rawValue.lowercased()) rules")],
                            target: .jump(chain)),
                 placement: placement)
    }

    static let dnat = Rule(proto: ProtocolMatch(.tcp), matches: [.tcp(TCPMatch(ports: PortMatch()))],
                           target: .dnat(NATTarget(address: IPAddress("10.244.1.10")!, ports: PortRange(80))))
    static let masquerade = Rule(target: .masquerade(MasqueradeTarget()))

    /// One chain hooked from `hook`, holding `rules`.
    static func single(_ id: TableID, hook: BuiltinChain, _ rules: [Rule]) -> TableState {
        let name = ChainName("PODNET-" + hook.rawValue)
        return TableState(id: id, chains: [Chain(name: name, rules: rules)], jumps: [jump(from: hook, to: name)])
    }

    func problem(of table: TableState) -> CompileError? {
        do throws(CompileError) {
            try TableChecker.check(table)
            return nil
        } catch {
            return error
        }
    }

    @Test func wellFormedTablesPass() throws {
        try TableChecker.check(Self.single(Self.nat4, hook: .prerouting, [Self.dnat]))
        try TableChecker.check(Self.single(Self.nat4, hook: .output, [Self.dnat]))
        try TableChecker.check(Self.single(Self.nat4, hook: .postrouting, [Self.masquerade]))
        try TableChecker.check(Self.single(Self.nat4, hook: .input,
                                           [Rule(target: .snat(NATTarget(address: IPAddress("198.18.0.10")!)))]))
        try TableChecker.check(Self.single(Self.filter4, hook: .forward, [Rule(target: .reject(.portUnreachable(.ipv4)))]))
        try TableChecker.check(Self.single(Self.filter4, hook: .input, [Rule(target: .mark(.or(0x4000)))]))
        try TableChecker.check(Self.single(Self.nat4, hook: .prerouting, [Rule(target: .mark(.or(0x4000)))]))
        try TableChecker.check(Self.single(Self.filter4, hook: .input,
                                           [Rule(matches: [.comment(String(repeating: "x", count: 255))], target: .accept)]))
    }

    @Test func dnatReachedFromPostroutingIsRefusedNamingChainAndRule() {
        let table = Self.single(Self.nat4, hook: .postrouting, [Self.masquerade, Self.dnat])
        #expect(problem(of: table) == .invalidRule(
            table: Self.nat4, location: .chain("PODNET-POSTROUTING", number: 2), rule: Self.dnat,
            problem: .targetNotAllowed(.dnat, table: .nat, reachedFrom: [.postrouting])))
        #expect(problem(of: table)?.description ==
            "internal error: ipv4/nat chain PODNET-POSTROUTING rule 2, `-p tcp -m tcp -j DNAT --to-destination 10.244.1.10:80`: "
            + "DNAT is valid only in nat chains reached from PREROUTING or OUTPUT; this rule is in the nat table, reached from POSTROUTING")
    }

    @Test func dnatInFilterIsRefused() {
        let table = Self.single(Self.filter4, hook: .input, [Self.dnat])
        #expect(problem(of: table) == .invalidRule(
            table: Self.filter4, location: .chain("PODNET-INPUT", number: 1), rule: Self.dnat,
            problem: .targetNotAllowed(.dnat, table: .filter, reachedFrom: [.input])))
    }

    /// A chain shared by two hooks is checked against both: MASQUERADE is fine from
    /// POSTROUTING but not from PREROUTING, which also reaches it.
    @Test func targetInASubchainIsCheckedAgainstEveryHookReachingIt() {
        let shared = ChainName("PODNET-SHARED")
        let table = TableState(
            id: Self.nat4,
            chains: [
                Chain(name: "PODNET-POSTROUTING", rules: [Rule(target: .jump(shared))]),
                Chain(name: "PODNET-PREROUTING", rules: [Rule(target: .jump(shared))]),
                Chain(name: shared, rules: [Self.masquerade]),
            ],
            jumps: [Self.jump(from: .postrouting, to: "PODNET-POSTROUTING"),
                    Self.jump(from: .prerouting, to: "PODNET-PREROUTING")])
        #expect(problem(of: table) == .invalidRule(
            table: Self.nat4, location: .chain(shared, number: 1), rule: Self.masquerade,
            problem: .targetNotAllowed(.masquerade, table: .nat, reachedFrom: [.prerouting, .postrouting])))
    }

    @Test func snatFromPreroutingRejectInNatDropInNat() {
        let snat = Rule(target: .snat(NATTarget(address: IPAddress("198.18.0.10")!)))
        let reject = Rule(target: .reject(.portUnreachable(.ipv4)))
        for (hook, rule, target) in [(BuiltinChain.prerouting, snat, RestrictedTarget.snat),
                                     (.postrouting, reject, .reject), (.prerouting, Rule(target: .drop), .drop)] {
            #expect(problem(of: Self.single(Self.nat4, hook: hook, [rule])) == .invalidRule(
                table: Self.nat4, location: .chain(ChainName("PODNET-" + hook.rawValue), number: 1), rule: rule,
                problem: .targetNotAllowed(target, table: .nat, reachedFrom: [hook])))
        }
    }

    @Test func jumpToAMissingChain() {
        let rule = Rule(target: .jump("PODNET-NOWHERE"))
        #expect(problem(of: Self.single(Self.filter4, hook: .forward, [rule])) == .invalidRule(
            table: Self.filter4, location: .chain("PODNET-FORWARD", number: 1), rule: rule,
            problem: .unknownChain("PODNET-NOWHERE")))
        let toBuiltin = Rule(target: .jump("INPUT"))
        #expect(problem(of: Self.single(Self.filter4, hook: .forward, [toBuiltin])) == .invalidRule(
            table: Self.filter4, location: .chain("PODNET-FORWARD", number: 1), rule: toBuiltin,
            problem: .unknownChain("INPUT")))
    }

    @Test func jumpCycleIsReportedAlongItsPath() {
        let table = TableState(
            id: Self.filter4,
            chains: [
                Chain(name: "PODNET-FORWARD", rules: [Rule(target: .jump("PODNET-A"))]),
                Chain(name: "PODNET-A", rules: [Rule(target: .accept), Rule(target: .jump("PODNET-B"))]),
                Chain(name: "PODNET-B", rules: [Rule(target: .goto("PODNET-A"))]),
            ],
            jumps: [Self.jump(from: .forward, to: "PODNET-FORWARD", placement: .appended)])
        #expect(problem(of: table) == .jumpCycle(table: Self.filter4, chains: ["PODNET-A", "PODNET-B", "PODNET-A"]))
    }

    @Test func chainNameLimits() {
        let long = ChainName("PODNET-" + String(repeating: "X", count: 22))
        let table = TableState(id: Self.filter4,
                               chains: [Chain(name: "PODNET-INPUT", rules: [Rule(target: .jump(long))]),
                                        Chain(name: long, rules: [Rule(target: .accept)])],
                               jumps: [Self.jump(from: .input, to: "PODNET-INPUT")])
        #expect(problem(of: table) == .invalidChain(table: Self.filter4, chain: long, problem: .nameTooLong(length: 29)))
        let foreign = TableState(id: Self.filter4, chains: [Chain(name: "KUBE-FORWARD", rules: [])],
                                 jumps: [Self.jump(from: .forward, to: "KUBE-FORWARD")])
        #expect(problem(of: foreign) == .invalidChain(table: Self.filter4, chain: "KUBE-FORWARD", problem: .notPodnetOwned))
    }

    @Test func unreachableChain() {
        let table = TableState(id: Self.filter4,
                               chains: [Chain(name: "PODNET-INPUT", rules: [Rule(target: .accept)]),
                                        Chain(name: "PODNET-ORPHAN", rules: [Rule(target: .accept)])],
                               jumps: [Self.jump(from: .input, to: "PODNET-INPUT")])
        #expect(problem(of: table) == .invalidChain(table: Self.filter4, chain: "PODNET-ORPHAN", problem: .unreachable))
    }

    @Test func commentLongerThan255Bytes() {
        // 128 two-byte characters: 256 bytes although only 128 characters.
        let rule = Rule(matches: [.comment(String(repeating: "é", count: 128))], target: .accept)
        #expect(problem(of: Self.single(Self.filter4, hook: .input, [rule])) == .invalidRule(
            table: Self.filter4, location: .chain("PODNET-INPUT", number: 1), rule: rule,
            problem: .commentTooLong(bytes: 256)))
    }

    @Test func portMatchNeedsItsProtocol() {
        let noProto = Rule(matches: [.udp(.destination(53))], target: .accept)
        let otherProto = Rule(proto: ProtocolMatch(.tcp), matches: [.udp(.destination(53))], target: .accept)
        let negated = Rule(proto: ProtocolMatch(.sctp, negated: true), matches: [.sctp(.destination(53))], target: .accept)
        for (rule, proto) in [(noProto, IPProtocol.udp), (otherProto, .udp), (negated, .sctp)] {
            #expect(problem(of: Self.single(Self.filter4, hook: .input, [rule])) == .invalidRule(
                table: Self.filter4, location: .chain("PODNET-INPUT", number: 1), rule: rule,
                problem: .portMatchWithoutProtocol(proto)))
        }
    }

    @Test func addressOfTheOtherFamily() {
        let v6 = IPAddress("fd00::1")!
        let rule = Rule(destination: AddressMatch(IPNetwork(host: v6)), target: .accept)
        #expect(problem(of: Self.single(Self.filter4, hook: .input, [rule])) == .invalidRule(
            table: Self.filter4, location: .chain("PODNET-INPUT", number: 1), rule: rule, problem: .wrongFamily(v6)))
    }

    @Test func malformedJumps() {
        let chain = Chain(name: "PODNET-FORWARD", rules: [Rule(target: .accept)])
        func table(_ jumps: [JumpRule], in id: TableID = TableCheckerTests.filter4) -> TableState {
            TableState(id: id, chains: [chain], jumps: jumps)
        }
        func jumpProblem(_ table: TableState) -> RuleProblem? {
            if case .invalidRule(_, .jump, _, let problem)? = problem(of: table) { return problem }
            return nil
        }
        #expect(jumpProblem(table([Self.jump(from: .forward, to: chain.name, comment: "flannel forward")]))
                == .jumpWithoutPodnetComment)
        let uncommented = JumpRule(builtinChain: .forward, rule: Rule(target: .jump(chain.name)), placement: .appended)
        #expect(jumpProblem(table([uncommented])) == .jumpWithoutPodnetComment)
        let accept = JumpRule(builtinChain: .forward, rule: Rule(matches: [.comment("podnet: x")], target: .accept),
                              placement: .appended)
        #expect(jumpProblem(table([accept])) == .jumpNotToPodnetChain)
        #expect(jumpProblem(table([Self.jump(from: .forward, to: "PODNET-ELSEWHERE")])) == .unknownChain("PODNET-ELSEWHERE"))
        #expect(jumpProblem(table([Self.jump(from: .forward, to: chain.name), Self.jump(from: .forward, to: chain.name)]))
                == .duplicateJump)
        #expect(jumpProblem(table([Self.jump(from: .forward, to: chain.name)], in: Self.nat4)) == .builtinChainNotInTable)
    }

    @Test func opaqueTargetIsRefused() {
        let rule = Rule(target: .opaque(OpaqueExtension(name: "TPROXY", revision: 1, data: [])))
        #expect(problem(of: Self.single(Self.nat4, hook: .prerouting, [rule])) == .invalidRule(
            table: Self.nat4, location: .chain("PODNET-PREROUTING", number: 1), rule: rule,
            problem: .opaqueTarget("TPROXY")))
    }
}
