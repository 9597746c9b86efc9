/// One peer added, changed or removed, as the routes of a DesiredState see it: the peer's
/// routes and nexthops before and after, and the whole state after (what `compile` of the
/// config after the change gives for routes and nexthops).
public struct PeerRouteChange: Sendable, Hashable {
    /// The peer's routes and nexthops in the state before (none for a peer added).
    public var oldRoutes: [RouteState]
    public var oldNexthops: [PeerNexthop]
    /// The peer's routes and nexthops in the state after (none for a peer removed).
    public var newRoutes: [RouteState]
    public var newNexthops: [PeerNexthop]
    public var desired: DesiredState

    public init(oldRoutes: [RouteState], oldNexthops: [PeerNexthop], newRoutes: [RouteState], newNexthops: [PeerNexthop],
                desired: DesiredState) {
        self.oldRoutes = oldRoutes
        self.oldNexthops = oldNexthops
        self.newRoutes = newRoutes
        self.newNexthops = newNexthops
        self.desired = desired
    }
}

