import Testing
import PodNet

/// apply(A) then apply(B) ends where apply(B) alone does, for every pair of fixtures
/// on the same bridge, as far as the sysctls go: a setting podnet made for A and B
/// does not want must be seen and undone (route_localnet stayed on once the last IPv4
/// host port went). The global forwarding settings are the exception, by design:
/// podnet leaves them on, since other software on the node may need forwarding.
@Suite struct ConfigChangeTests {
    struct Change: Sendable, CustomStringConvertible {
        var from: String
        var to: String
        var description: String { "\(from) -> \(to)" }
    }

    static let changes: [Change] = Fixtures.names.flatMap { from in
        Fixtures.names.compactMap { to in
            guard from != to, let a = try? Fixtures.state(from), let b = try? Fixtures.state(to),
                  a.bridge?.name == b.bridge?.name else { return nil }
            return Change(from: from, to: to)
        }
    }

    @Test func everyChangeIsCovered() {
        #expect(Self.changes.count >= 100, "\(Self.changes.count) pairs")
        #expect(Self.changes.contains { $0.from == "host-ports" && $0.to == "no-peers" })
    }

    /// The reported case: the last IPv4 host port goes, and diff shows route_localnet
    /// going off with the guard rule (it said "No changes" once the tables matched).
    @Test func removingTheLastIPv4HostPortShowsRouteLocalnetGoingOff() throws {
        let withPorts = try Fixtures.state("host-ports"), without = try Fixtures.state("no-peers")
        var node = DiffGoldenTests.applied(without)
        node.sysctls = Dictionary(uniqueKeysWithValues: withPorts.sysctls.map { ($0.key, $0.value) })
        let plan = NodeDiff.plan(desired: without, observed: node)
        #expect(plan.sysctls == [SysctlOperation(key: .routeLocalnet(interface: "cbr0"), from: "1", to: "0")])
        #expect(plan.sysctls.map(\.direction) == [.closes])
        let text = PlanText.render(plan, bridge: without.bridge)
        #expect(text == "# sysctls\n~ sysctl -w net.ipv4.conf.cbr0.route_localnet=0   # was 1\nPlan: 1 sysctl.\n")
    }

    @Test(arguments: changes)
    func applyingAThenBEndsWhereBAloneDoes(_ change: Change) throws {
        let a = try Fixtures.state(change.from), b = try Fixtures.state(change.to)
        let bridge = try #require(b.bridge?.name)
        let pristine = Dictionary(uniqueKeysWithValues: SysctlKey.writable(bridge: bridge).map { ($0, "0") })
        let afterA = Self.sysctls(afterApplying: a, over: pristine)
        let afterAThenB = Self.sysctls(afterApplying: b, over: afterA)
        let afterB = Self.sysctls(afterApplying: b, over: pristine)
        let wantedByB = Set(b.sysctls.map(\.key))
        for key in SysctlKey.writable(bridge: bridge) {
            if key.interface != nil || wantedByB.contains(key) {
                #expect(afterAThenB[key] == afterB[key], "\(key)")
            } else {
                #expect(afterAThenB[key] == afterA[key], "\(key): a global setting B does not want stays as A left it")
            }
        }
        // And diff of B on that node has nothing left to do.
        var node = DiffGoldenTests.applied(b)
        node.sysctls = afterAThenB
        let plan = NodeDiff.plan(desired: b, observed: node)
        #expect(PlanText.render(plan, bridge: b.bridge) == "No changes: the node matches the config.\n")
    }

    /// The sysctls of a node holding `sysctls` once the plan for `desired` has run
    /// (the rest of the node as apply leaves it for `desired`).
    static func sysctls(afterApplying desired: DesiredState, over sysctls: [SysctlKey: String]) -> [SysctlKey: String] {
        var node = DiffGoldenTests.applied(desired)
        node.sysctls = sysctls
        var result = sysctls
        for operation in NodeDiff.plan(desired: desired, observed: node).sysctls {
            #expect(operation.from == sysctls[operation.key], "\(operation.key)")
            result[operation.key] = operation.to
        }
        return result
    }
}
