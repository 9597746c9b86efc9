/// What to do with one route.
public enum RouteOperation: PlannedKernelWrite {
    case add(RouteState)
    /// Only ever a route observed as podnet's own.
    case replace(old: RouteState, new: RouteState)
    case delete(RouteState)

    /// The route this operation writes or deletes (for a replace, the new one).
    public var route: RouteState {
        switch self {
        case .add(let route), .delete(let route): return route
        case .replace(_, let new): return new
        }
    }

    /// The `ip route` command that carries the operation out.
    public var commandText: String {
        switch self {
        case .add(let route): return IpCommandText.route("add", route)
        case .replace(_, let new): return IpCommandText.route("replace", new)
        case .delete(let route): return IpCommandText.route("del", route)
        }
    }
}

/// A destination podnet wants that another owner's route holds.
public struct RouteConflict: Sendable, Hashable, CustomStringConvertible {
    public var wanted: RouteState
    public var foreign: ObservedRoute

    public init(wanted: RouteState, foreign: ObservedRoute) {
        self.wanted = wanted
        self.foreign = foreign
    }

    public var description: String {
        "route \(wanted.destination) (table \(wanted.table)) is held by a route of protocol \(foreign.proto)"
            + foreign.viaText
            + ", not podnet's (\(wanted.proto)): podnet leaves it alone; remove it to let podnet route there"
    }
}

public enum RouteDiff {
    public struct Result: Sendable, Hashable {
        public var operations: [RouteOperation]
        public var nexthops: [NexthopOperation] = []
        public var conflicts: [RouteConflict]
    }

    /// What writing one wanted route takes, given what holds its destination.
    public enum Step: Sendable, Hashable {
        /// The destination is free.
        case add
        /// podnet's own route is there, with another gateway.
        case replace(old: RouteState)
        /// podnet's own route is there, as wanted.
        case unchanged
        /// Only another owner's route is there: never overwritten.
        case conflict(RouteConflict)
    }

    /// The one place a wanted route meets the routes on its table and destination
    /// (`owned`: podnet's, `foreign`: another protocol's), for the plan and again at
    /// write time against a fresh read. podnet's own route is podnet's to replace:
    /// a replace matches the kernel's route of podnet's metric, so a foreign route
    /// beside it (another metric) is not touched. A destination podnet does not hold
    /// but another owner does is a conflict: adding beside it would compete with it.
    public static func step(for wanted: RouteState, owned: RouteState?, foreign: ObservedRoute?) -> Step {
        if let owned { return owned == wanted ? .unchanged : .replace(old: owned) }
        if let foreign { return .conflict(RouteConflict(wanted: wanted, foreign: foreign)) }
        return .add
    }

    /// Routes keyed by (family, table, destination): added, replaced or deleted;
    /// a foreign route on a wanted destination is a conflict, never replaced.
    /// The wanted routes and podnet's own are walked side by side in key order, without
    /// a table of either: a node of 20,000 peers compares 40,000 routes on every apply,
    /// nearly all unchanged.
    public static func plan(desired: [RouteState], observed: ObservedRoutes) -> Result {
        var foreign: [RouteKey: ObservedRoute] = [:]
        for route in observed.foreign where foreign[route.key] == nil { foreign[route.key] = route }
        let owned = observed.owned
        // podnet's routes by key, a key's routes in the order observed (the last one is the
        // one compared, as a table by key would keep).
        let ownedOrder = owned.indices.sorted { a, b in
            let (left, right) = (owned[a], owned[b])
            if left.destination != right.destination || left.table != right.table {
                return (left.destination, left.table) < (right.destination, right.table)
            }
            return a < b
        }
        var isWanted = [Bool](repeating: false, count: owned.count)
        var changes: [RouteOperation] = []
        var conflicts: [RouteConflict] = []
        var next = 0
        for route in desired.sorted() {
            while next < ownedOrder.count,
                  (owned[ownedOrder[next]].destination, owned[ownedOrder[next]].table) < (route.destination, route.table) {
                next += 1
            }
            var holder: RouteState?
            var index = next
            while index < ownedOrder.count, owned[ownedOrder[index]].key == route.key {
                isWanted[ownedOrder[index]] = true
                holder = owned[ownedOrder[index]]
                index += 1
            }
            switch step(for: route, owned: holder, foreign: foreign.isEmpty ? nil : foreign[route.key]) {
            case .add: changes.append(.add(route))
            case .replace(let old): changes.append(.replace(old: old, new: route))
            case .unchanged: break
            case .conflict(let conflict): conflicts.append(conflict)
            }
        }
        // Deletions first: a peer that moved frees its old destination before it is reused.
        var operations: [RouteOperation] = owned.indices.compactMap { isWanted[$0] ? nil : .delete(owned[$0]) }
        operations += changes
        return Result(operations: operations, conflicts: conflicts)
    }

    /// The routes (already fitted to the node: `RouteFitting`) and the nexthops they use.
    /// A nexthop of podnet's at a wanted id with another gateway or link is replaced in
    /// place, which moves its routes with it; one no longer wanted is deleted (after the
    /// routes moved off it: the kernel deletes the routes still using it).
    public static func plan(desired: RouteFitting.Fitted, observed: ObservedRoutes) -> Result {
        var result = plan(desired: desired.routes, observed: observed)
        // Both sides by id, walked side by side; the deletions come last.
        let owned = observed.nexthops.sorted()
        var deletions: [NexthopOperation] = []
        var next = 0
        for nexthop in desired.nexthops.sorted() {
            while next < owned.count, owned[next].id < nexthop.id {
                deletions.append(.delete(owned[next]))
                next += 1
            }
            if next < owned.count, owned[next].id == nexthop.id {
                if owned[next] != nexthop { result.nexthops.append(.replace(old: owned[next], new: nexthop)) }
                next += 1
            } else {
                result.nexthops.append(.add(nexthop))
            }
        }
        result.nexthops += deletions + owned[next...].map { .delete($0) }
        return result
    }
}
