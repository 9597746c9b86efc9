import Testing
@testable import PodNet

/// The plan's lines as the JSON plan takes them, one per line the text shows.
@Suite struct PlanTextTests {
    @Test func tableLinesAreTheTextsLines() {
        let chain = ChainName("PODNET-X")
        let rule = Rule(matches: [.comment("podnet: a test")], target: .accept)
        let replaced = PlanText.tableLines(.replaceRule(chain, index: 0, old: rule, new: Rule(target: .drop)))
        #expect(replaced.map(\.0) == [.remove, .add])
        #expect(replaced.map(\.1) == ["-A PODNET-X -m comment --comment \"podnet: a test\" -j ACCEPT", "-A PODNET-X -j DROP"])
        #expect(PlanText.tableLines(.createChain(chain)).map(\.1) == [":PODNET-X - [0:0]"])
        #expect(PlanText.tableLines(.insertRule("FORWARD", index: 2, rule)).map(\.1)
            == ["-I FORWARD 3 -m comment --comment \"podnet: a test\" -j ACCEPT"])
        #expect(PlanText.tableLines(.flushChain(chain, rules: [])).isEmpty)
    }

    /// A rule read from the kernel may hold any comment, a line break included: it is
    /// still one operation line (the text is not split to find the lines again).
    @Test func aCommentWithALineBreakStaysOneLine() {
        let rule = Rule(matches: [.comment("two\nlines")], target: .accept)
        let lines = PlanText.tableLines(.deleteRule("PODNET-X", index: 0, rule))
        #expect(lines.count == 1)
        #expect(lines.first?.0 == .remove)
        #expect(lines.first?.1 == "-A PODNET-X -m comment --comment \"two\nlines\" -j ACCEPT")
    }

    /// An executed plan with a refused route: the text names it with the kernel's
    /// reason in its own section and the summary counts it; the JSON has it in
    /// refusedRoutes with the reason and errno, apart from what was applied.
    @Test func refusedRoutesAreShownApartFromWhatWasApplied() throws {
        let applied = RouteState(destination: try IPNetwork(parsing: "10.244.2.0/24"), gateway: IPAddress("198.18.0.11")!,
                                 table: 254, proto: 111)
        let refused = RouteState(destination: try IPNetwork(parsing: "10.244.3.0/24"), gateway: IPAddress("203.0.113.9")!,
                                 table: 254, proto: 111)
        var plan = Plan(routes: [.add(applied)])
        plan.refusedRoutes = [RefusedRoute(operation: .add(refused),
                                           reason: .kernel(KernelReason(errno: 101, message: "Nexthop has invalid gateway")))]
        #expect(PlanText.render(plan, bridge: nil) == """
            # routes
            + ip route add 10.244.2.0/24 via 198.18.0.11 proto 111
            # routes the kernel refused (the rest was applied; the next apply retries them)
            ! ip route add 10.244.3.0/24 via 203.0.113.9 proto 111: Nexthop has invalid gateway (Network is unreachable)
            Plan: 1 route change, 1 route refused.

            """)
        let document = PlanDocument(plan, bridge: nil)
        #expect(document.routes.map(\.destination) == ["10.244.2.0/24"])
        #expect(document.refusedRoutes.map(\.destination) == ["10.244.3.0/24"])
        #expect(document.refusedRoutes.first?.reason == "Nexthop has invalid gateway (Network is unreachable)")
        #expect(document.refusedRoutes.first?.errno == 101)
        // Nothing applied but a refusal is not "the node matches".
        var refusedOnly = Plan()
        refusedOnly.refusedRoutes = plan.refusedRoutes
        #expect(PlanDocument(refusedOnly, bridge: nil).status == "changes")
        #expect(PlanText.summary(refusedOnly) == "Plan: 1 route refused.")
    }
}
