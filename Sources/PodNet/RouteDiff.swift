/// What to do with one route.
public enum RouteOperation: Sendable, Hashable {
    case add(RouteState)
    /// Only ever a route observed as podnet's own.
    case replace(old: RouteState, new: RouteState)
    case delete(RouteState)
}

/// A destination podnet wants that another owner's route holds.
public struct RouteConflict: Sendable, Hashable, CustomStringConvertible {
    public var wanted: RouteState
    public var foreign: RouteState

    public init(wanted: RouteState, foreign: RouteState) {
        self.wanted = wanted
        self.foreign = foreign
    }

    public var description: String {
        "route \(wanted.destination) (table \(wanted.table)) is held by a route of protocol \(foreign.proto) "
            + "via \(foreign.gateway), not podnet's (\(wanted.proto)): podnet leaves it alone; remove it to let podnet route there"
    }
}

public enum RouteDiff {
    public struct Result: Sendable, Hashable {
        public var operations: [RouteOperation]
        public var conflicts: [RouteConflict]
    }

    /// Routes keyed by (family, table, destination): added, replaced or deleted;
    /// a foreign route on a wanted destination is a conflict, never replaced.
    public static func plan(desired: [RouteState], observed: ObservedRoutes) -> Result {
        var owned: [RouteKey: RouteState] = [:]
        for route in observed.owned { owned[route.key] = route }
        var foreign: [RouteKey: RouteState] = [:]
        for route in observed.foreign { foreign[route.key] = route }
        let wantedKeys = Set(desired.map(\.key))

        var operations: [RouteOperation] = []
        var conflicts: [RouteConflict] = []
        // Deletions first: a peer that moved frees its old destination before it is reused.
        for route in observed.owned where !wantedKeys.contains(route.key) {
            operations.append(.delete(route))
        }
        for route in desired.sorted() {
            if let current = owned[route.key] {
                if current != route { operations.append(.replace(old: current, new: route)) }
            } else if let other = foreign[route.key] {
                conflicts.append(RouteConflict(wanted: route, foreign: other))
            } else {
                operations.append(.add(route))
            }
        }
        return Result(operations: operations, conflicts: conflicts)
    }
}
