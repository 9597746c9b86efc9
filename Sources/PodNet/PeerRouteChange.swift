/// One peer added, changed or removed, as the routes of a DesiredState see it: the peer's
/// routes and nexthops before and after (`Compiler.peerChange`). Applied to the state
/// compiled before, it gives what `compile` of the config after gives for routes and
/// nexthops, in place: the other peers' 40,000 routes are not copied.
public struct PeerRouteChange: Sendable, Hashable {
    /// The peer's routes and nexthops in the state before (none for a peer added).
    public var oldRoutes: [RouteState]
    public var oldNexthops: [PeerNexthop]
    /// The peer's routes and nexthops in the state after (none for a peer removed).
    public var newRoutes: [RouteState]
    public var newNexthops: [PeerNexthop]

    public init(oldRoutes: [RouteState], oldNexthops: [PeerNexthop], newRoutes: [RouteState], newNexthops: [PeerNexthop]) {
        self.oldRoutes = oldRoutes
        self.oldNexthops = oldNexthops
        self.newRoutes = newRoutes
        self.newNexthops = newNexthops
    }

    /// Whether `desired` holds the old routes and nexthops as they are, and no other route
    /// on a new destination nor nexthop at a new id: a destination another peer routes too
    /// would sit beside the peer's in the full compile, in the peers' order, which the
    /// state does not know.
    public func fits(_ desired: DesiredState) -> Bool {
        for route in oldRoutes {
            let index = Self.position(of: route, in: desired.routes)
            guard index < desired.routes.count, desired.routes[index] == route else { return false }
        }
        for nexthop in oldNexthops {
            guard let index = NexthopIDChange.index(of: nexthop.id, in: desired.nexthops),
                  desired.nexthops[index] == nexthop else { return false }
        }
        for route in newRoutes where !oldRoutes.contains(where: { $0.key == route.key }) {
            let index = Self.position(of: route, in: desired.routes)
            if index < desired.routes.count, desired.routes[index].key == route.key { return false }
        }
        for nexthop in newNexthops where !oldNexthops.contains(where: { $0.id == nexthop.id }) {
            if NexthopIDChange.index(of: nexthop.id, in: desired.nexthops) != nil { return false }
        }
        return true
    }

    /// The old routes and nexthops out of `desired` and the new ones in, each where the
    /// state's order puts it (`desired` must fit the change: `fits`). One on the same
    /// destination (or nexthop id) takes the old one's place: the 40,000 routes after it
    /// are not moved twice.
    public func apply(to desired: inout DesiredState) {
        var routes = newRoutes
        for route in oldRoutes {
            let index = Self.position(of: route, in: desired.routes)
            if let new = routes.firstIndex(where: { $0.key == route.key }) {
                desired.routes[index] = routes.remove(at: new)
            } else {
                desired.routes.remove(at: index)
            }
        }
        for route in routes { desired.routes.insert(route, at: Self.position(of: route, in: desired.routes)) }
        var nexthops = newNexthops
        for nexthop in oldNexthops {
            let index = NexthopIDChange.lowerBound(of: nexthop.id, in: desired.nexthops)
            if let new = nexthops.firstIndex(where: { $0.id == nexthop.id }) {
                desired.nexthops[index] = nexthops.remove(at: new)
            } else {
                desired.nexthops.remove(at: index)
            }
        }
        for nexthop in nexthops {
            desired.nexthops.insert(nexthop, at: NexthopIDChange.lowerBound(of: nexthop.id, in: desired.nexthops))
        }
    }

    /// Where `route` is or goes in `routes` (sorted by destination and table, as `NodeState`
    /// keeps them: `RouteState.sorted` orders by the same fields as `<`).
    private static func position(of route: RouteState, in routes: [RouteState]) -> Int {
        var low = 0, high = routes.count
        while low < high {
            let middle = (low + high) / 2
            if routes[middle] < route { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
