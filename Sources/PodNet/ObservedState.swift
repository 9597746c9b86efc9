/// What observation found of podnet's own in one iptables table.
///
/// Foreign rules are not part of it except as positions: podnet needs to know
/// where its jumps stand among them, never what they say.
public struct ObservedTable: Sendable, Hashable {
    public var id: TableID
    /// The PODNET- chains, in full.
    public var chains: [Chain]
    /// podnet's jump rules found in built-in chains, with their positions.
    public var jumps: [ObservedJump]
    /// How many rules each built-in chain holds (foreign and podnet's).
    public var builtinRuleCounts: [BuiltinChain: Int]

    public init(id: TableID, chains: [Chain] = [], jumps: [ObservedJump] = [],
                builtinRuleCounts: [BuiltinChain: Int] = [:]) {
        self.id = id
        self.chains = chains.sorted { $0.name < $1.name }
        self.jumps = jumps
        self.builtinRuleCounts = builtinRuleCounts
    }

    public func chain(_ name: ChainName) -> Chain? { chains.first { $0.name == name } }
}

/// A podnet jump found in a built-in chain at a 0-based position.
public struct ObservedJump: Sendable, Hashable {
    public var builtinChain: BuiltinChain
    public var index: Int
    public var rule: Rule

    public init(builtinChain: BuiltinChain, index: Int, rule: Rule) {
        self.builtinChain = builtinChain
        self.index = index
        self.rule = rule
    }
}

/// podnet's routes and nexthops as the kernel holds them, the foreign routes that sit
/// on destinations podnet wants, and what fitting routes to the node needs (`RouteFitting`).
public struct ObservedRoutes: Sendable, Hashable {
    public var owned: [RouteState]
    /// Routes of other protocols on a destination podnet wants: never overwritten.
    public var foreign: [ObservedRoute]
    /// podnet's nexthops: those of its protocol with a single gateway and link.
    public var nexthops: [NexthopState]
    /// The ids of every other nexthop (another protocol's, or a group or blackhole):
    /// podnet never uses them.
    public var foreignNexthopIDs: [UInt32]
    /// False when the kernel has no nexthop objects (it refused the nexthop dump).
    public var nexthopsSupported: Bool
    /// The main table's link-scope routes without a gateway, which say on which link a
    /// gateway is on-link.
    public var onLinkPrefixes: [OnLinkPrefix]

    public init(owned: [RouteState] = [], foreign: [ObservedRoute] = [], nexthops: [NexthopState] = [],
                foreignNexthopIDs: [UInt32] = [], nexthopsSupported: Bool = true, onLinkPrefixes: [OnLinkPrefix] = []) {
        self.owned = owned.sorted()
        self.foreign = foreign.sorted()
        self.nexthops = nexthops.sorted()
        self.foreignNexthopIDs = foreignNexthopIDs.sorted()
        self.nexthopsSupported = nexthopsSupported
        self.onLinkPrefixes = onLinkPrefixes
    }
}

/// A route as the kernel holds it, whoever made it.
public struct ObservedRoute: Sendable, Hashable, Comparable {
    public var destination: IPNetwork
    /// Nil for a route without a single gateway (on-link, blackhole, multipath). A route
    /// through a nexthop object carries the nexthop's gateway here too, as the kernel
    /// reports it.
    public var gateway: IPAddress?
    public var table: UInt32
    public var proto: UInt8
    /// RTA_OIF: the interface the route leaves by, when the kernel names one.
    public var outputInterfaceIndex: Int32?
    /// RTA_NH_ID: the nexthop object the route uses.
    public var nexthopID: UInt32?
    /// A unicast route of link scope without a gateway: its destination is on-link on
    /// its output interface.
    public var isOnLink: Bool

    public init(destination: IPNetwork, gateway: IPAddress?, table: UInt32, proto: UInt8,
                outputInterfaceIndex: Int32? = nil, nexthopID: UInt32? = nil, isOnLink: Bool = false) {
        self.destination = destination
        self.gateway = gateway
        self.table = table
        self.proto = proto
        self.outputInterfaceIndex = outputInterfaceIndex
        self.nexthopID = nexthopID
        self.isOnLink = isOnLink
    }

    public var key: RouteKey { RouteKey(table: table, destination: destination) }

    /// The route as one of podnet's: through its nexthop object, else via its gateway;
    /// nil for a route of neither kind (podnet makes no other).
    public var asRouteState: RouteState? {
        if let nexthopID { return RouteState(destination: destination, via: .nexthop(id: nexthopID), table: table, proto: proto) }
        guard let gateway else { return nil }
        return RouteState(destination: destination, gateway: gateway, table: table, proto: proto)
    }

    /// How the route reaches its next hop, for messages.
    public var viaText: String {
        if let nexthopID { return " nhid \(nexthopID)" + (gateway.map { " via \($0)" } ?? "") }
        return gateway.map { " via \($0)" } ?? ""
    }

    public static func < (lhs: ObservedRoute, rhs: ObservedRoute) -> Bool {
        (lhs.destination, lhs.table, lhs.proto) < (rhs.destination, rhs.table, rhs.proto)
    }
}
