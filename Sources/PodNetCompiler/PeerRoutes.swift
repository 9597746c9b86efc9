import PodNet

extension Compiler {
    /// One peer's routes and nexthops within `config`, as `compile(config)` has them when
    /// `ids` gives each of the peer's nexthop owners the id the full assignment gives it;
    /// nil when `ids` has no id for one of them.
    public static func peerRoutes(_ peer: Peer, config: NodeConfig, ids: (NexthopOwner) -> UInt32?)
        throws(CompileError) -> (routes: [RouteState], nexthops: [PeerNexthop])? {
        var routing = PeerRouting(config: config)
        try routing.add(peer)
        var assigned: [UInt32] = []
        for entry in routing.owners {
            guard let id = ids(entry.owner) else { return nil }
            assigned.append(id)
        }
        return routing.finish(ids: assigned)
    }

    /// `desired` (compiled from a config with `old` among its peers, or without a peer of its
    /// name when nil) with that peer's routes and nexthops changed to those of `new` (nil:
    /// the peer is gone) within `config`, the config after the change (all but its peers as
    /// before). Every other peer keeps its routes and nexthops, ids included.
    ///
    /// Nil when one peer alone cannot say what the full compile would: the nexthop ids would
    /// move (`NexthopIDChange`: a new owner whose derived id is held, a removed one some
    /// remaining owner was bumped past), or `desired` does not hold `old`'s routes.
    public static func peerChange(from old: Peer?, to new: Peer?, desired: DesiredState, config: NodeConfig)
        throws(CompileError) -> PeerRouteChange? {
        let oldOwners = try old.map { peer throws(CompileError) in try owners(of: peer, config: config) } ?? []
        let newOwners = try new.map { peer throws(CompileError) in try owners(of: peer, config: config) } ?? []
        var change = NexthopIDChange(desired.nexthops)
        var oldIDs: [NexthopOwner: UInt32] = [:]
        for owner in oldOwners {
            guard let id = change.id(of: owner) else { return nil }
            oldIDs[owner] = id
        }
        for owner in oldOwners where !newOwners.contains(owner) {
            guard change.remove(owner) else { return nil }
        }
        var newIDs: [NexthopOwner: UInt32] = [:]
        for owner in newOwners {
            if let id = oldIDs[owner] {
                newIDs[owner] = id
            } else {
                guard let id = change.add(owner) else { return nil }
                newIDs[owner] = id
            }
        }
        var before: (routes: [RouteState], nexthops: [PeerNexthop]) = ([], [])
        var after: (routes: [RouteState], nexthops: [PeerNexthop]) = ([], [])
        if let old {
            guard let part = try peerRoutes(old, config: config, ids: { oldIDs[$0] }) else { return nil }
            before = part
        }
        if let new {
            guard let part = try peerRoutes(new, config: config, ids: { newIDs[$0] }) else { return nil }
            after = part
        }
        var state = desired
        // Removed first: a route or nexthop the peer keeps is taken out and put back.
        for route in before.routes {
            let index = lowerBound(of: route, in: state.routes)
            guard index < state.routes.count, state.routes[index] == route else { return nil }
            state.routes.remove(at: index)
        }
        for nexthop in before.nexthops {
            guard let index = NexthopIDChange.index(of: nexthop.id, in: state.nexthops),
                  state.nexthops[index] == nexthop else { return nil }
            state.nexthops.remove(at: index)
        }
        for route in after.routes {
            let index = lowerBound(of: route, in: state.routes)
            // A destination another peer routes too: the full compile's order of the two
            // is the peers' order, which this state does not know.
            if index < state.routes.count, state.routes[index].key == route.key { return nil }
            state.routes.insert(route, at: index)
        }
        for nexthop in after.nexthops {
            state.nexthops.insert(nexthop, at: NexthopIDChange.lowerBound(of: nexthop.id, in: state.nexthops))
        }
        return PeerRouteChange(oldRoutes: before.routes, oldNexthops: before.nexthops,
                               newRoutes: after.routes, newNexthops: after.nexthops, desired: state)
    }

    /// The owners of the nexthops the peer's routes go through.
    private static func owners(of peer: Peer, config: NodeConfig) throws(CompileError) -> [NexthopOwner] {
        var routing = PeerRouting(config: config)
        try routing.add(peer)
        return routing.owners.map(\.owner)
    }

    /// Where `route` goes in `routes` (sorted by destination and table, as `NodeState` keeps them).
    private static func lowerBound(of route: RouteState, in routes: [RouteState]) -> Int {
        var low = 0, high = routes.count
        while low < high {
            let middle = (low + high) / 2
            if routes[middle] < route { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
