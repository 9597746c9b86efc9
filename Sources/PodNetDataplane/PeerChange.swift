import PodNet
import PodNetNetlink

/// What a full apply learned of the node that one peer's routes depend on: the on-link
/// prefixes of the links (where a gateway is on-link, `RouteFitting`), the ids of the
/// nexthops others hold, whether the kernel has nexthop objects at all, and podnet's
/// route table and protocol. Facts of the node, not of the peers: they change when links
/// or addresses do, which the next full apply sees again.
public struct PeerRouteContext: Sendable, Hashable {
    public var onLinkPrefixes: [OnLinkPrefix]
    /// Sorted.
    public var foreignNexthopIDs: [UInt32]
    public var nexthopsSupported: Bool
    /// The links' names by index, for the nexthops read back by id.
    public var linkNames: [Int32: String]
    public var routeTable: UInt32
    public var routeProtocol: UInt8

    public init(onLinkPrefixes: [OnLinkPrefix], foreignNexthopIDs: [UInt32], nexthopsSupported: Bool,
                linkNames: [Int32: String], routeTable: UInt32, routeProtocol: UInt8) {
        self.onLinkPrefixes = onLinkPrefixes
        self.foreignNexthopIDs = foreignNexthopIDs.sorted()
        self.nexthopsSupported = nexthopsSupported
        self.linkNames = linkNames
        self.routeTable = routeTable
        self.routeProtocol = routeProtocol
    }
}

extension NodeDataplane {
    /// The context, read once after a full apply: the links, the main table (for its on-link
    /// prefixes) and the nexthop ids. Where podnet's routes live in the main table, that dump
    /// reads them too; it is the events after it that read only what they concern.
    public func peerRouteContext(ownership: Ownership) throws(DataplaneError) -> PeerRouteContext {
        let netlink = try observer.session()
        do {
            var names: [Int32: String] = [:]
            for link in try netlink.links() { names[link.index] = link.name }
            let onLink = try netlink.onLinkPrefixes(names: names)
            let foreign = try netlink.foreignNexthopIDs(proto: ownership.routeProtocol)
            return PeerRouteContext(onLinkPrefixes: onLink, foreignNexthopIDs: foreign.ids,
                                    nexthopsSupported: foreign.supported, linkNames: names,
                                    routeTable: ownership.routeTable, routeProtocol: ownership.routeProtocol)
        } catch {
            throw .netlink(error, while: "reading the links, the main table's on-link prefixes and the nexthop ids")
        }
    }

    /// One peer added, changed or removed, as `podnet watch` sees a Node event, compiled by
    /// `Compiler.peerChange` against `desired`: observes in the kernel only what the peer's
    /// routes concern (its nexthops by id, `ip nexthop get`; its routes by destination,
    /// `Netlink.routes(on:)`), fits, diffs and executes only that, with the code apply uses
    /// (`RouteFitting`, `RouteDiff`, `PlanExecutor`, under the podnet lock), and returns what
    /// was done, `desired` then changed in place to the state after the event.
    ///
    /// Nil, with nothing done and `desired` as it was, when the peer cannot be done alone, for
    /// the caller to apply in full: a nexthop of another's at an id the compiler gave (the full
    /// fit moves ids around it, maybe other peers' too), a kernel whose nexthop support
    /// changed since the context, or a foreign route on a destination the peer wants (the full
    /// apply reports that conflict, as always, and leaves the route alone).
    public func applyPeerChange(_ change: PeerRouteChange, to desired: inout DesiredState, context: PeerRouteContext,
                                ownership: Ownership) throws -> ApplyResult? {
        guard context.routeTable == ownership.routeTable, context.routeProtocol == ownership.routeProtocol else { return nil }
        // Few foreign ids, each looked for among the compiled ones (sorted by id) and the peer's new ones.
        if context.nexthopsSupported, context.foreignNexthopIDs.contains(where: { id in
            NexthopIDChange.index(of: id, in: desired.nexthops) != nil || change.newNexthops.contains { $0.id == id }
        }) {
            return nil
        }
        guard let result = try executeAlone(change, desired: desired, context: context, ownership: ownership) else { return nil }
        change.apply(to: &desired)
        return result
    }

    /// Observes, plans and executes the change under the podnet lock; nil when it cannot be done alone.
    private func executeAlone(_ change: PeerRouteChange, desired: DesiredState, context: PeerRouteContext,
                              ownership: Ownership) throws -> ApplyResult? {
        try PodnetLock.forNamespace(namespace, wait: lockWait).withLock { () throws -> ApplyResult? in
            guard let observed = try observePeer(change, context: context) else { return nil }
            let fitted = RouteFitting.fit(routes: change.newRoutes, nexthops: change.newNexthops, to: observed)
            let diff = RouteDiff.plan(desired: fitted, observed: observed)
            guard diff.conflicts.isEmpty else { return nil }
            let plan = Plan(routes: diff.operations, nexthops: diff.nexthops)
            guard !plan.isEmpty else { return ApplyResult(executed: plan) }
            // The executor takes from `desired` only what a plan of routes alone leaves as it
            // is (no table is committed, no pod attached): the state before the event will do.
            let executor = try PlanExecutor(namespace: namespace, iptables: iptables, sessions: sessions)
            return try executor.execute(plan, desired: desired, bridgeName: ownership.bridgeName,
                                        routeProtocol: ownership.routeProtocol, tables: [])
        }
    }

    /// What the kernel holds of the peer's routes and nexthops, before and after, in the
    /// shape the full observation has (`Netlink.observeRoutes`), the node's facts from the
    /// context; nil when another's nexthop holds one of the peer's ids.
    private func observePeer(_ change: PeerRouteChange, context: PeerRouteContext) throws(DataplaneError) -> ObservedRoutes? {
        let netlink = try observer.session()
        let proto = context.routeProtocol
        var ids: [UInt32] = []
        for id in (change.oldNexthops + change.newNexthops).map(\.id) where !ids.contains(id) { ids.append(id) }
        // The old destinations (kept or not), read in full: a stale route of podnet's left on
        // one would stay. The new ones only looked up: the executor reads what holds a
        // destination again before it writes there (`Netlink.replaceRoutes`), and adds to a
        // free one only, so a route the lookup missed is still never overwritten.
        var keys: [RouteKey] = []
        for key in change.oldRoutes.map(\.key) where !keys.contains(key) { keys.append(key) }
        var newKeys: [RouteKey] = []
        for key in change.newRoutes.map(\.key) where !keys.contains(key) && !newKeys.contains(key) { newKeys.append(key) }
        do {
            var nexthops: (owned: [NexthopState], foreignIDs: [UInt32], supported: Bool) = ([], [], context.nexthopsSupported)
            if context.nexthopsSupported, !ids.isEmpty {
                nexthops = try netlink.observeNexthops(ids: ids, proto: proto, names: context.linkNames)
                guard nexthops.foreignIDs.isEmpty, nexthops.supported else { return nil }
            }
            var owned: [RouteState] = [], foreign: [ObservedRoute] = []
            var routes = try netlink.routes(on: keys, preferring: proto)
            for key in newKeys {
                if let route = try netlink.fibMatch(key.destination.address), route.key == key { routes.append(route) }
            }
            for route in routes {
                if route.proto == proto {
                    // As the full observation: podnet's protocol in another table, or a route it does not make, is neither.
                    if route.table == context.routeTable, let state = route.asRouteState { owned.append(state) }
                } else {
                    foreign.append(route)
                }
            }
            return ObservedRoutes(owned: owned, foreign: foreign, nexthops: nexthops.owned,
                                  foreignNexthopIDs: context.foreignNexthopIDs, nexthopsSupported: context.nexthopsSupported,
                                  onLinkPrefixes: context.onLinkPrefixes)
        } catch {
            throw .netlink(error, while: "reading one peer's routes and nexthops")
        }
    }
}
