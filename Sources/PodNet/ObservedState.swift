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

/// podnet's routes as the kernel holds them, and the foreign routes that sit
/// on destinations podnet wants.
public struct ObservedRoutes: Sendable, Hashable {
    public var owned: [RouteState]
    /// Routes of other protocols on a destination podnet wants: never overwritten.
    public var foreign: [ObservedRoute]

    public init(owned: [RouteState] = [], foreign: [ObservedRoute] = []) {
        self.owned = owned.sorted()
        self.foreign = foreign.sorted()
    }
}

/// A route as the kernel holds it, whoever made it.
public struct ObservedRoute: Sendable, Hashable, Comparable {
    public var destination: IPNetwork
    /// Nil for a route without a single gateway (on-link, blackhole, multipath).
    public var gateway: IPAddress?
    public var table: UInt32
    public var proto: UInt8
    /// RTA_OIF: the interface the route leaves by, when the kernel names one.
    public var outputInterfaceIndex: Int32?

    public init(destination: IPNetwork, gateway: IPAddress?, table: UInt32, proto: UInt8,
                outputInterfaceIndex: Int32? = nil) {
        self.destination = destination
        self.gateway = gateway
        self.table = table
        self.proto = proto
        self.outputInterfaceIndex = outputInterfaceIndex
    }

    public var key: RouteKey { RouteKey(table: table, destination: destination) }

    public static func < (lhs: ObservedRoute, rhs: ObservedRoute) -> Bool {
        (lhs.destination, lhs.table, lhs.proto) < (rhs.destination, rhs.table, rhs.proto)
    }
}
