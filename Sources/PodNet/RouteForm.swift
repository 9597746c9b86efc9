/// How podnet writes the routes to one family's peers: the one place that choice is made.
public enum RouteForm: Sendable, Hashable {
    /// `ip route add P via G`.
    case classic
    /// `ip nexthop add id N via G dev D` once per peer, `ip route add P nhid N` per route.
    case nexthop

    /// The form that measured faster on this kernel (BENCHMARKS.md). IPv4: the fib_info
    /// hash keys a classic route by its output device only, so routes via thousands of
    /// gateways on one link share a bucket and every insert scans it (20,000 routes: 8.2 s
    /// with `ip -batch`); a route through a nexthop object is keyed by the nexthop's id
    /// (0.29 s). IPv6 (fib6) has no such hash: classic routes are the faster ones there
    /// (5,000: 0.04 s, against 0.08 s with nexthop objects, which also cost a message each).
    /// Measured again with `ip -batch` of 5,000 routes to 5,000 gateways on one link, in one
    /// namespace: IPv6 classic 0.08 s, through nexthops 0.14 s; IPv4 classic 0.56 s, through
    /// nexthops 0.19 s. `make bench` compares podnet with `ip -batch` of classic routes.
    /// The price (README, Known limits): a link going down takes its nexthops one by one,
    /// each flush walking the table (20,000: 5 s under rtnl, against nothing for classic).
    public static func preferred(for family: IPFamily) -> RouteForm {
        switch family {
        case .ipv4: return .nexthop
        case .ipv6: return .classic
        }
    }
}

/// The desired routes made concrete for one node: what the compiler wants (`RouteForm`
/// per family) as far as the kernel and the node allow it.
public enum RouteFitting {
    public struct Fitted: Sendable, Hashable {
        public var routes: [RouteState]
        public var nexthops: [NexthopState]
    }

    /// - A kernel without nexthop objects (before 5.3: its nexthop dump is refused) gets
    ///   every route in the classic form.
    /// - Ids held by nexthops that are not podnet's are never used: the owners of such
    ///   ids take the next free ones (`NexthopIDs`), their routes with them.
    /// - A nexthop needs the link its gateway is on-link through (NHA_OIF): the longest
    ///   on-link prefix holding the gateway. A gateway that is on no link, or on several
    ///   equally (an IPv6 link-local one), keeps its routes classic, which the kernel
    ///   judges as it always has: a gateway that is not on-link is that peer's refused
    ///   route (exit 3), not a failure of the apply.
    public static func fit(routes: [RouteState], nexthops: [PeerNexthop], to observed: ObservedRoutes) -> Fitted {
        guard !nexthops.isEmpty else { return Fitted(routes: routes, nexthops: []) }
        var fitted: [NexthopState] = []
        fitted.reserveCapacity(nexthops.count)
        // What each compiled nexthop becomes: a nexthop (its id, or the one it moved to)
        // or, off-link or without nexthop objects, its gateway on the route itself.
        var vias: [RouteVia] = []
        vias.reserveCapacity(nexthops.count)
        if observed.nexthopsSupported {
            // The compiler's ids stand unless one of them is held by another's nexthop: with
            // no such id, assigning around the foreign ones gives the same ids again.
            let foreign = Set(observed.foreignNexthopIDs)
            let ids = nexthops.contains { foreign.contains($0.id) }
                ? NexthopIDs.assign(nexthops.map(\.owner), taken: foreign) : nexthops.map(\.id)
            let onLink = OnLinkLookup(observed.onLinkPrefixes)
            for (nexthop, id) in zip(nexthops, ids) {
                if let link = onLink.link(for: nexthop.gateway) {
                    fitted.append(NexthopState(id: id, gateway: nexthop.gateway, link: link, proto: nexthop.proto))
                    vias.append(.nexthop(id: id))
                } else {
                    vias.append(.gateway(nexthop.gateway))
                }
            }
        } else {
            for nexthop in nexthops { vias.append(.gateway(nexthop.gateway)) }
        }
        // Every nexthop kept as compiled (the usual apply): the routes stand as they are.
        if zip(nexthops, vias).allSatisfy({ $0.1 == .nexthop(id: $0.0.id) }) {
            return Fitted(routes: routes, nexthops: fitted.sorted())
        }
        var replacement: [UInt32: RouteVia] = [:]
        replacement.reserveCapacity(nexthops.count)
        for (nexthop, via) in zip(nexthops, vias) { replacement[nexthop.id] = via }
        let concrete = routes.map { route -> RouteState in
            guard let id = route.nexthopID, let via = replacement[id] else { return route }
            var route = route
            route.via = via
            return route
        }
        return Fitted(routes: concrete, nexthops: fitted.sorted())
    }
}

/// Longest-prefix match of a gateway against the on-link prefixes of its family.
struct OnLinkLookup {
    private let prefixes: [OnLinkPrefix]

    init(_ prefixes: [OnLinkPrefix]) {
        self.prefixes = prefixes.sorted { $0.prefix.prefixLength > $1.prefix.prefixLength }
    }

    /// The link of the longest prefix holding `gateway`; nil when none does or when
    /// two links hold it at that length (the kernel would want to be told which).
    func link(for gateway: IPAddress) -> LinkReference? {
        var found: OnLinkPrefix?
        for candidate in prefixes where candidate.prefix.family == gateway.family && candidate.prefix.contains(gateway) {
            if let found {
                if found.prefix.prefixLength > candidate.prefix.prefixLength { break }
                if found.link != candidate.link { return nil }
            } else {
                found = candidate
            }
        }
        return found?.link
    }
}
