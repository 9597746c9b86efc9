import Testing
@testable import PodNet

@Suite struct RouteDiffTests {
    private func route(_ cidr: String, via gateway: String, proto: UInt8 = 111) -> RouteState {
        RouteState(destination: try! IPNetwork(parsing: cidr), gateway: IPAddress(gateway)!, table: 254, proto: proto)
    }

    @Test func addsReplacesAndDeletesOnlyPodnetRoutes() {
        let desired = [route("10.244.2.0/24", via: "198.18.0.11"), route("10.244.3.0/24", via: "198.18.0.12"),
                       route("10.244.4.0/24", via: "198.18.0.13")]
        let observed = ObservedRoutes(owned: [route("10.244.3.0/24", via: "198.18.0.99"), route("10.244.9.0/24", via: "198.18.0.19")])
        let result = RouteDiff.plan(desired: desired, observed: observed)
        #expect(result.conflicts.isEmpty)
        #expect(result.operations == [
            .delete(route("10.244.9.0/24", via: "198.18.0.19")),
            .add(route("10.244.2.0/24", via: "198.18.0.11")),
            .replace(old: route("10.244.3.0/24", via: "198.18.0.99"), new: route("10.244.3.0/24", via: "198.18.0.12")),
            .add(route("10.244.4.0/24", via: "198.18.0.13")),
        ])
    }

    @Test func foreignRouteOnAWantedDestinationIsAConflictNotAReplace() {
        let wanted = route("10.244.2.0/24", via: "198.18.0.11")
        let foreign = ObservedRoute(destination: wanted.destination, gateway: IPAddress("198.18.0.50")!, table: 254, proto: 4)
        let result = RouteDiff.plan(desired: [wanted], observed: ObservedRoutes(foreign: [foreign]))
        #expect(result.operations.isEmpty)
        #expect(result.conflicts == [RouteConflict(wanted: wanted, foreign: foreign)])
        #expect(result.conflicts[0].description.contains("protocol 4"))
    }

    /// The plan and the write-time check ask the same question of the same function:
    /// podnet's own route is podnet's to replace even with a foreign one beside it (another
    /// metric, untouched by a replace); a destination only a foreign route holds is a
    /// conflict, reported with its gateway when it has one.
    @Test func oneDecisionForEveryWantedRoute() {
        let wanted = route("10.244.2.0/24", via: "198.18.0.11")
        let own = route("10.244.2.0/24", via: "198.18.0.99")
        let onLink = ObservedRoute(destination: wanted.destination, gateway: nil, table: 254, proto: 3)
        #expect(RouteDiff.step(for: wanted, owned: nil, foreign: nil) == .add)
        #expect(RouteDiff.step(for: wanted, owned: wanted, foreign: onLink) == .unchanged)
        #expect(RouteDiff.step(for: wanted, owned: own, foreign: onLink) == .replace(old: own))
        #expect(RouteDiff.step(for: wanted, owned: nil, foreign: onLink)
            == .conflict(RouteConflict(wanted: wanted, foreign: onLink)))
        #expect(RouteConflict(wanted: wanted, foreign: onLink).description
            == "route 10.244.2.0/24 (table 254) is held by a route of protocol 3, not podnet's (111): "
            + "podnet leaves it alone; remove it to let podnet route there")
        let plan = RouteDiff.plan(desired: [wanted], observed: ObservedRoutes(owned: [own], foreign: [onLink]))
        #expect(plan.operations == [.replace(old: own, new: wanted)])
        #expect(plan.conflicts.isEmpty)
    }

    @Test func nothingToDoWhenEqual() {
        let routes = [route("10.244.2.0/24", via: "198.18.0.11"), route("fd00:10:244:2::/64", via: "2001:db8::11")]
        #expect(RouteDiff.plan(desired: routes, observed: ObservedRoutes(owned: routes)).operations.isEmpty)
    }
}
