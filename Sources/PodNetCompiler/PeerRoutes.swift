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

    /// The change of `desired` (compiled from a config with `old` among its peers, or without
    /// a peer of its name when nil) that takes that peer's routes and nexthops to those of
    /// `new` (nil: the peer is gone) within `config`, the config after the change (all but
    /// its peers as before): applied to `desired` (`PeerRouteChange.apply`), the routes and
    /// nexthops of `compile(config)`. Every other peer keeps its routes and nexthops, ids included.
    ///
    /// Nil when one peer alone cannot say what the full compile would: the nexthop ids would
    /// move (`NexthopIDChange`: a new owner whose derived id is held, a removed one some
    /// remaining owner was bumped past), or `desired` does not fit the change
    /// (`PeerRouteChange.fits`: it lacks `old`'s routes, or another peer has `new`'s destination).
    public static func peerChange(from old: Peer?, to new: Peer?, desired: DesiredState, config: NodeConfig)
        throws(CompileError) -> PeerRouteChange? {
        let oldOwners = try old.map { peer throws(CompileError) in try owners(of: peer, config: config) } ?? []
        let newOwners = try new.map { peer throws(CompileError) in try owners(of: peer, config: config) } ?? []
        var assignment = NexthopIDChange(desired.nexthops)
        var oldIDs: [NexthopOwner: UInt32] = [:]
        for owner in oldOwners {
            guard let id = assignment.id(of: owner) else { return nil }
            oldIDs[owner] = id
        }
        for owner in oldOwners where !newOwners.contains(owner) {
            guard assignment.remove(owner) else { return nil }
        }
        var newIDs: [NexthopOwner: UInt32] = [:]
        for owner in newOwners {
            if let id = oldIDs[owner] {
                newIDs[owner] = id
            } else {
                guard let id = assignment.add(owner) else { return nil }
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
        let change = PeerRouteChange(oldRoutes: before.routes, oldNexthops: before.nexthops,
                                     newRoutes: after.routes, newNexthops: after.nexthops)
        return change.fits(desired) ? change : nil
    }

    /// The owners of the nexthops the peer's routes go through.
    private static func owners(of peer: Peer, config: NodeConfig) throws(CompileError) -> [NexthopOwner] {
        var routing = PeerRouting(config: config)
        try routing.add(peer)
        return routing.owners.map(\.owner)
    }
}
