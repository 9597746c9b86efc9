#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMNL
import PodNet

/// What a route batch did. The kernel applies a batch message by message, so a
/// failure in the middle leaves the others applied: `applied` is exactly what a
/// rollback has to undo.
public struct RouteBatchResult: Sendable, Hashable {
    public var applied: [RouteState] = []
    public var failed: [RouteFailure] = []
    public var conflicts: [RouteConflict] = []
    /// Acknowledgements were lost (ENOBUFS); the outcome of those routes was
    /// decided by re-reading the table.
    public var reread = false

    public var succeeded: Bool { failed.isEmpty && conflicts.isEmpty }
}

/// How a route write treats an existing route to the same destination.
enum RouteWrite {
    /// `ip route add`: NLM_F_CREATE | NLM_F_EXCL.
    case add
    /// `ip route replace`: NLM_F_CREATE | NLM_F_REPLACE (overwrites any protocol's route).
    case replace
    /// `ip route del ... proto N`: the kernel deletes only a route of that protocol.
    case delete
}

/// The route messages, as pure functions of their values.
enum RouteMessages {
    /// A route request for `route`: rtmsg { family, dst_len, table, protocol,
    /// scope universe, type unicast }, RTA_TABLE, RTA_DST, then RTA_GATEWAY, or
    /// RTA_NH_ID for a route through a nexthop object (the kernel takes the gateway
    /// and link from the nexthop).
    static func write(_ route: RouteState, _ write: RouteWrite) -> NetlinkMessage {
        let (type, flags): (Int32, Int32) = switch write {
        case .add: (Int32(RTM_NEWROUTE), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        case .replace: (Int32(RTM_NEWROUTE), NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
        case .delete: (Int32(RTM_DELROUTE), NLM_F_ACK)
        }
        return MessageWriter.message(type: type, flags: flags) { writer in
            var header = rtmsg()
            header.rtm_family = route.family.addressFamily
            header.rtm_dst_len = UInt8(route.destination.prefixLength)
            header.rtm_table = route.table < 256 ? UInt8(route.table) : UInt8(RT_TABLE_UNSPEC.rawValue)
            header.rtm_protocol = route.proto
            header.rtm_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
            header.rtm_type = UInt8(RTN_UNICAST)
            writer.putHeader(header)
            writer.put(Int32(RTA_TABLE.rawValue), u32: route.table)
            writer.put(Int32(RTA_DST.rawValue), address: route.destination.address)
            switch route.via {
            case .gateway(let gateway): writer.put(Int32(RTA_GATEWAY.rawValue), address: gateway)
            case .nexthop(let id): writer.put(Int32(RTA_NH_ID.rawValue), u32: id)
            }
        }
    }

    /// `ip -j route show table T [proto P]`: with NETLINK_GET_STRICT_CHK the
    /// kernel filters on rtm_table/RTA_TABLE and rtm_protocol (0 = any).
    static func dump(family: IPFamily, table: UInt32, proto: UInt8?) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_GETROUTE), flags: NLM_F_DUMP) { writer in
            var header = rtmsg()
            header.rtm_family = family.addressFamily
            header.rtm_table = table < 256 ? UInt8(table) : UInt8(RT_TABLE_UNSPEC.rawValue)
            header.rtm_protocol = proto ?? 0
            writer.putHeader(header)
            writer.put(Int32(RTA_TABLE.rawValue), u32: table)
        }
    }

    /// `ip route get fibmatch ADDRESS`: the route the kernel's FIB holds for `address`
    /// (its longest prefix, through the rules), as the table has it rather than as the
    /// packet would be sent (RTM_F_FIB_MATCH), with the table it was found in
    /// (RTM_F_LOOKUP_TABLE, IPv4; IPv6 always names it). Strict checking wants the whole
    /// address length in rtm_dst_len and only these flags (IPv6: only RTM_F_FIB_MATCH).
    static func fibMatch(_ address: IPAddress) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_GETROUTE), flags: 0) { writer in
            var header = rtmsg()
            header.rtm_family = address.family.addressFamily
            header.rtm_dst_len = address.family == .ipv4 ? 32 : 128
            header.rtm_flags = UInt32(RTM_F_FIB_MATCH) | (address.family == .ipv4 ? UInt32(RTM_F_LOOKUP_TABLE) : 0)
            writer.putHeader(header)
            writer.put(Int32(RTA_DST.rawValue), address: address)
        }
    }

    static func parse(_ message: NetlinkMessage) throws(NetlinkError) -> ObservedRoute? {
        guard message.type == UInt16(RTM_NEWROUTE) else { return nil }
        let size = MemoryLayout<rtmsg>.size
        guard message.payload.count >= size else { throw .malformed("RTM_NEWROUTE shorter than rtmsg") }
        let header = message.payload.withUnsafeBytes { $0.loadUnaligned(as: rtmsg.self) }
        guard let family = IPFamily(addressFamily: header.rtm_family) else { return nil }
        // Every attribute a route carries is wanted: one walk (as a table by type would
        // keep, a repeated attribute gives its last value).
        var destination: IPAddress?, gateway: IPAddress?
        var table: UInt32?, outputInterfaceIndex: UInt32?, nexthopID: UInt32?
        var hasGateway = false, hasNexthopID = false, hasMultipath = false
        try NetlinkAttributes.forEach(in: message.payload.dropFirst(size)) { type, payload in
            switch UInt32(type) {
            case RTA_DST.rawValue: destination = NetlinkAttributes.address(payload, family: family)
            case RTA_GATEWAY.rawValue:
                hasGateway = true
                gateway = NetlinkAttributes.address(payload, family: family)
            case RTA_TABLE.rawValue: table = NetlinkAttributes.u32(payload)
            case RTA_OIF.rawValue: outputInterfaceIndex = NetlinkAttributes.u32(payload)
            case RTA_NH_ID.rawValue:
                hasNexthopID = true
                nexthopID = NetlinkAttributes.u32(payload)
            case RTA_MULTIPATH.rawValue: hasMultipath = true
            default: break
            }
        }
        return ObservedRoute(
            destination: IPNetwork(network: destination ?? IPAddress.zero(family), prefixLength: Int(header.rtm_dst_len)),
            gateway: gateway,
            table: table ?? UInt32(header.rtm_table),
            proto: header.rtm_protocol,
            outputInterfaceIndex: outputInterfaceIndex.map { Int32(bitPattern: $0) },
            nexthopID: nexthopID,
            isOnLink: header.rtm_type == UInt8(RTN_UNICAST) && header.rtm_scope == UInt8(RT_SCOPE_LINK.rawValue)
                && !hasGateway && !hasNexthopID && !hasMultipath)
    }
}

extension Netlink {
    /// Every route of `family` in `table` (`ip -j route show table T`), or only
    /// those of protocol `proto` (`... proto P`).
    public func routes(family: IPFamily, table: UInt32, proto: UInt8? = nil) throws(NetlinkError) -> [ObservedRoute] {
        let replies: [NetlinkMessage]
        do throws(NetlinkError) {
            replies = try dump(RouteMessages.dump(family: family, table: table, proto: proto))
        } catch .kernel(_, _, let reason) where reason.errno == ENOENT || reason.errno == EAFNOSUPPORT {
            // A table that holds no route does not exist yet; a kernel without the
            // family (IPv6 disabled) holds none of it.
            return []
        }
        var routes: [ObservedRoute] = []
        for reply in replies {
            // The kernel filter is a request: keep only what was asked for. A kernel
            // without the family answers a dump of it with every family it has.
            guard let route = try RouteMessages.parse(reply), route.destination.family == family, route.table == table,
                  proto.map({ $0 == route.proto }) ?? true else { continue }
            routes.append(route)
        }
        return routes
    }

    /// podnet's routes: those of protocol `proto` in `table`, both families,
    /// as RouteState values (a route of that protocol with neither a gateway nor a
    /// nexthop object is not one podnet makes, and is left out).
    public func ownedRoutes(proto: UInt8, table: UInt32) throws(NetlinkError) -> [RouteState] {
        var owned: [RouteState] = []
        for family in IPFamily.allCases {
            owned += try routes(family: family, table: table, proto: proto).compactMap(\.asRouteState)
        }
        return owned.sorted()
    }

    /// The route the kernel's FIB holds for `address` (`ip route get fibmatch`), nil when
    /// it refuses the lookup: no route at all (ENETUNREACH), or a route that sends nothing
    /// (a blackhole, unreachable or prohibit route answers with its error).
    public func fibMatch(_ address: IPAddress) throws(NetlinkError) -> ObservedRoute? {
        do throws(NetlinkError) {
            return try RouteMessages.parse(try fetch(RouteMessages.fibMatch(address)))
        } catch .kernel {
            return nil
        }
    }

    /// The routes on `keys`, of any protocol, as far as the route diff needs them for those
    /// destinations alone (one peer's: a table dump would read every peer's). There is no
    /// request for the routes of one prefix in one table (a dump filters on table, protocol
    /// and link only), so each key is looked up (`fibMatch` of its first address): when the
    /// kernel's pick is a route of `proto` on exactly that key, it is podnet's route there,
    /// and another protocol's beside it changes nothing for the diff (podnet replaces its
    /// own). Any other answer proves nothing (a more specific route, a table no rule
    /// reaches, a route skipped for a dead link), and that key's table is dumped.
    public func routes(on keys: [RouteKey], preferring proto: UInt8) throws(NetlinkError) -> [ObservedRoute] {
        var found: [ObservedRoute] = []
        var unsettled: [RouteKey] = []
        for key in keys {
            if let route = try fibMatch(key.destination.address), route.key == key, route.proto == proto,
               route.asRouteState != nil {
                found.append(route)
            } else {
                unsettled.append(key)
            }
        }
        let wanted = Set(unsettled)
        for scope in Set(unsettled.map { TableFamily(table: $0.table, family: $0.destination.family) }) {
            found += try routes(family: scope.family, table: scope.table).filter { wanted.contains($0.key) }
        }
        return found
    }

    /// The main table's on-link prefixes (`RouteFitting`), from a dump of it in both families.
    public func onLinkPrefixes(names: [Int32: String]) throws(NetlinkError) -> [OnLinkPrefix] {
        var prefixes: [OnLinkPrefix] = []
        for family in IPFamily.allCases {
            for route in try routes(family: family, table: NodeConfig.mainRouteTable) {
                if let prefix = Self.onLinkPrefix(route, names: names) { prefixes.append(prefix) }
            }
        }
        return prefixes
    }

    /// The prefix a link-scope route of the main table without a gateway makes on-link on its link.
    private static func onLinkPrefix(_ route: ObservedRoute, names: [Int32: String]) -> OnLinkPrefix? {
        guard route.isOnLink, route.table == NodeConfig.mainRouteTable, let index = route.outputInterfaceIndex,
              let name = names[index] else { return nil }
        return OnLinkPrefix(prefix: route.destination, link: LinkReference(index: index, name: name))
    }

    /// What the route diff and `RouteFitting` need, in one pass: podnet's routes (protocol
    /// `proto` in `table`), the routes of other protocols on destinations `desired` wants,
    /// every nexthop (podnet's, and the ids of the others), and the main table's on-link
    /// prefixes with their links' names.
    /// As many keys as a scan compares faster than a hash looks up.
    private static let fewKeys = 16

    public func observeRoutes(desired: [RouteState], proto: UInt8, table: UInt32) throws(NetlinkError) -> ObservedRoutes {
        // One dump per table and family serves every question: podnet's table in both
        // families (stale routes of a family no longer wanted too), every table a wanted
        // route lives in, and the main table, where the kernel looks a nexthop's gateway
        // up. A 5,000-peer node has 10,000 routes to read. (A few scopes: a list.)
        var scopes: [TableFamily] = []
        let named = IPFamily.allCases.flatMap { family in
            [TableFamily(table: table, family: family), TableFamily(table: NodeConfig.mainRouteTable, family: family)]
        }
        for scope in named + desired.map({ TableFamily(table: $0.table, family: $0.family) })
        where !scopes.contains(scope) {
            scopes.append(scope)
        }
        var owned: [RouteState] = [], others: [ObservedRoute] = []
        var onLink: [ObservedRoute] = []
        for scope in scopes {
            for route in try routes(family: scope.family, table: scope.table) {
                if route.isOnLink { onLink.append(route) }
                if route.proto == proto {
                    // A route of podnet's protocol with no gateway or nexthop is not one podnet made.
                    guard route.table == table, let state = route.asRouteState else { continue }
                    owned.append(state)
                } else {
                    others.append(route)
                }
            }
        }
        // The routes of other protocols that sit on a wanted destination: a handful of
        // them (the kernel's own) looked for among the wanted keys.
        var foreign: [ObservedRoute] = []
        if !others.isEmpty {
            let otherKeys = Set(others.map(\.key))
            // One pass over the wanted routes, each compared with the few other keys (a
            // hash of each of 100,000 wanted keys cost more than the comparisons).
            let fewKeys = otherKeys.count <= Self.fewKeys ? Array(otherKeys) : nil
            var held = Set<RouteKey>()
            for route in desired {
                let key = route.key
                if fewKeys?.contains(key) ?? otherKeys.contains(key) { held.insert(key) }
            }
            foreign = others.filter { held.contains($0.key) }
        }
        let nexthops = try nexthopDump()
        var names: [Int32: String] = [:]
        if !onLink.isEmpty || !nexthops.nexthops.isEmpty {
            for link in try links() { names[link.index] = link.name }
        }
        let own = Self.ownedNexthops(nexthops, proto: proto, names: names)
        return ObservedRoutes(
            owned: owned, foreign: foreign, nexthops: own.owned,
            foreignNexthopIDs: own.foreignIDs,
            nexthopsSupported: nexthops.supported,
            onLinkPrefixes: onLink.compactMap { Self.onLinkPrefix($0, names: names) })
    }

    /// `ip route add DST via GW table T proto P` for each route. A destination
    /// held by a route of another protocol only is a conflict and is not sent.
    public func addRoutes(_ routes: [RouteState]) throws(NetlinkError) -> RouteBatchResult {
        // podnet's own route already there is the kernel's to refuse (EEXIST).
        try writeRoutes(routes, overOwn: .add)
    }

    /// `ip route replace DST via GW table T proto P` for each route, but only
    /// over a route observed as podnet's: a destination held by another
    /// protocol only is a conflict, and a free one is added with NLM_F_EXCL so a
    /// foreign route appearing meanwhile is refused rather than overwritten.
    public func replaceRoutes(_ routes: [RouteState]) throws(NetlinkError) -> RouteBatchResult {
        try writeRoutes(routes, overOwn: .replace)
    }

    /// `ip route del DST via GW table T proto P`: the kernel matches the
    /// protocol and gateway, so no other route can be deleted.
    public func deleteRoutes(_ routes: [RouteState]) throws(NetlinkError) -> RouteBatchResult {
        var result = RouteBatchResult()
        let acknowledgements = try batch(routes.map { RouteMessages.write($0, .delete) })
        try settle(routes, acknowledgements, expectPresent: false, into: &result)
        return result
    }

    /// Decides each route against a fresh read of its destination, as the plan did
    /// (`RouteDiff.step`), and sends an add for a free destination or `overOwn` over
    /// podnet's own route; a destination only another protocol holds is a conflict.
    private func writeRoutes(_ routes: [RouteState], overOwn: RouteWrite) throws(NetlinkError) -> RouteBatchResult {
        var result = RouteBatchResult()
        let observed = try routesByDestination(for: routes)
        var sent: [RouteState] = []
        var messages: [NetlinkMessage] = []
        for route in routes {
            let holders = observed[route.key] ?? []
            let own = holders.first { $0.proto == route.proto }.map { holder in
                holder.asRouteState
                    ?? RouteState(destination: holder.destination, gateway: .zero(route.family),
                                  table: holder.table, proto: holder.proto)
            }
            let write: RouteWrite
            switch RouteDiff.step(for: route, owned: own, foreign: holders.first { $0.proto != route.proto }) {
            case .conflict(let conflict):
                result.conflicts.append(conflict)
                continue
            case .add: write = .add
            case .replace, .unchanged: write = overOwn
            }
            sent.append(route)
            messages.append(RouteMessages.write(route, write))
        }
        try settle(sent, try batch(messages), expectPresent: true, into: &result)
        return result
    }

    /// Every route (any protocol) on the destinations of `routes`, by destination, from a
    /// dump of their tables and families. Only those destinations are kept: one peer's
    /// route written among 40,000 is not worth a table of them all.
    private func routesByDestination(for routes: [RouteState]) throws(NetlinkError) -> [RouteKey: [ObservedRoute]] {
        var byDestination: [RouteKey: [ObservedRoute]] = [:]
        let wanted = Set(routes.map(\.key))
        let scopes = Set(routes.map { TableFamily(table: $0.table, family: $0.family) })
        for scope in scopes {
            for route in try self.routes(family: scope.family, table: scope.table) where wanted.contains(route.key) {
                byDestination[route.key, default: []].append(route)
            }
        }
        return byDestination
    }

    /// Sorts acknowledged routes into applied and failed; routes whose
    /// acknowledgement was lost are decided by re-reading podnet's routes.
    private func settle(_ routes: [RouteState], _ acknowledgements: [Acknowledgement], expectPresent: Bool,
                        into result: inout RouteBatchResult) throws(NetlinkError) {
        var unsettled: [RouteState] = []
        for (route, acknowledgement) in zip(routes, acknowledgements) {
            switch acknowledgement {
            case .applied: result.applied.append(route)
            case .refused(let reason): result.failed.append(RouteFailure(route: route, reason: .kernel(reason)))
            case .lost: unsettled.append(route)
            }
        }
        guard !unsettled.isEmpty else { return }
        result.reread = true
        var present = Set<RouteState>()
        for scope in Set(unsettled.map { OwnedScope(table: $0.table, proto: $0.proto) }) {
            present.formUnion(try ownedRoutes(proto: scope.proto, table: scope.table))
        }
        for route in unsettled {
            if present.contains(route) == expectPresent {
                result.applied.append(route)
            } else {
                result.failed.append(RouteFailure(route: route, reason: .notConfirmed))
            }
        }
    }
}

private struct TableFamily: Hashable {
    var table: UInt32
    var family: IPFamily
}

private struct OwnedScope: Hashable {
    var table: UInt32
    var proto: UInt8
}

extension IPFamily {
    /// AF_INET / AF_INET6 as the family byte of ifaddrmsg and rtmsg.
    var addressFamily: UInt8 { UInt8(self == .ipv4 ? AF_INET : AF_INET6) }

    init?(addressFamily: UInt8) {
        switch Int32(addressFamily) {
        case AF_INET: self = .ipv4
        case AF_INET6: self = .ipv6
        default: return nil
        }
    }
}

extension IPAddress {
    static func zero(_ family: IPFamily) -> IPAddress {
        family == .ipv4 ? IPAddress(ipv4: 0) : IPAddress(ipv6: 0, 0)
    }
}
