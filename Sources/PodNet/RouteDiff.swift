/// What to do with one route.
public enum RouteOperation: Sendable, Hashable {
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
    public static func plan(desired: [RouteState], observed: ObservedRoutes) -> Result {
        var owned: [RouteKey: RouteState] = [:]
        for route in observed.owned { owned[route.key] = route }
        var foreign: [RouteKey: ObservedRoute] = [:]
        for route in observed.foreign where foreign[route.key] == nil { foreign[route.key] = route }
        let wantedKeys = Set(desired.map(\.key))

        var operations: [RouteOperation] = []
        var conflicts: [RouteConflict] = []
        // Deletions first: a peer that moved frees its old destination before it is reused.
        for route in observed.owned where !wantedKeys.contains(route.key) {
            operations.append(.delete(route))
        }
        for route in desired.sorted() {
            switch step(for: route, owned: owned[route.key], foreign: foreign[route.key]) {
            case .add: operations.append(.add(route))
            case .replace(let old): operations.append(.replace(old: old, new: route))
            case .unchanged: break
            case .conflict(let conflict): conflicts.append(conflict)
            }
        }
        return Result(operations: operations, conflicts: conflicts)
    }

    /// The routes (already fitted to the node: `RouteFitting`) and the nexthops they use.
    /// A nexthop of podnet's at a wanted id with another gateway or link is replaced in
    /// place, which moves its routes with it; one no longer wanted is deleted (after the
    /// routes moved off it: the kernel deletes the routes still using it).
    public static func plan(desired: RouteFitting.Fitted, observed: ObservedRoutes) -> Result {
        var result = plan(desired: desired.routes, observed: observed)
        var owned: [UInt32: NexthopState] = [:]
        for nexthop in observed.nexthops { owned[nexthop.id] = nexthop }
        let wanted = Set(desired.nexthops.map(\.id))
        for nexthop in desired.nexthops {
            if let found = owned[nexthop.id] {
                if found != nexthop { result.nexthops.append(.replace(old: found, new: nexthop)) }
            } else {
                result.nexthops.append(.add(nexthop))
            }
        }
        for nexthop in observed.nexthops where !wanted.contains(nexthop.id) {
            result.nexthops.append(.delete(nexthop))
        }
        return result
    }
}
