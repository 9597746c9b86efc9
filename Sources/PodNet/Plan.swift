/// Changes to the bridge link, and the sweep of links a run left half-made.
public enum LinkOperation: Sendable, Hashable {
    /// `ip link del NAME` of a link an interrupted run left under its temporary name
    /// (see `UnfinishedLink`); a host end takes its peer in the pod with it. Not undone:
    /// nothing complete is lost.
    case deleteUnfinished(name: String)
    /// `ip link add TEMPORARY type bridge` with MTU and MAC, then one message naming it,
    /// marking it, setting its promiscuity and bringing it up (see `UnfinishedLink`).
    case createBridge(BridgeState, mtu: Int)
    case setMTU(link: String, from: Int, to: Int)
    case setMACAddress(link: String, from: MACAddress, to: MACAddress)
    case setPromiscuous(link: String, Bool)
    case setUp(link: String)
    case setHairpin(port: String, Bool)
    /// Teardown only: the bridge podnet created.
    case deleteBridge(name: String)
}

public enum AddressOperation: Sendable, Hashable {
    case add(InterfaceAddress)
    case delete(InterfaceAddress)
}

public struct SysctlOperation: Sendable, Hashable {
    public var key: SysctlKey
    public var from: String?
    public var to: String

    public init(key: SysctlKey, from: String?, to: String) {
        self.key = key
        self.from = from
        self.to = to
    }
}

public enum PodOperation: Sendable, Hashable {
    case attach(PodAttachment, mtu: Int)
    /// Deletes the host end (the kernel deletes its peer in the pod with it).
    case detach(ObservedPod)
}

/// Something podnet will not resolve by itself: it owns only what it made.
public enum Conflict: Sendable, Hashable, CustomStringConvertible {
    case route(RouteConflict)
    case bridgeNotABridge(name: String)
    case bridgeNotOwned(name: String)

    public var description: String {
        switch self {
        case .route(let conflict):
            return conflict.description
        case .bridgeNotABridge(let name):
            return "link \(name) exists and is not a bridge: podnet will not change or delete it; choose another bridge.name"
        case .bridgeNotOwned(let name):
            return "bridge \(name) exists but podnet did not create it (no podnet marker in its alias): "
                + "podnet will not change it; delete it or choose another bridge.name"
        }
    }
}

/// Everything one apply will do, in the order it will do it. Rendering this
/// value is the dry run; executing it is the apply.
///
/// Failure domains are part of its shape. The node's own state (tables, the bridge
/// and its addresses, sysctls, pods) must succeed together: if the kernel refuses
/// any of it, apply undoes the whole run, since half of it (a masquerade without its
/// forward rules, a bridge without its gateway) is worse than the state before. Each
/// route in `routes` stands alone: it carries traffic to one peer's pod CIDR only, so
/// the kernel refusing it (a gateway that is not on-link) leaves the rest applied, and
/// the executed plan names it in `refusedRoutes`. A conflict with a foreign route is
/// not a refusal: found at write time, it stays a conflict and undoes the run.
public struct Plan: Sendable, Hashable {
    /// Non-empty table plans only: an unchanged table is not committed at all.
    public var tables: [TablePlan]
    public var links: [LinkOperation]
    public var addresses: [AddressOperation]
    public var sysctls: [SysctlOperation]
    public var routes: [RouteOperation]
    /// podnet's nexthop objects, which routes in `routes` refer to: part of the same
    /// failure domains (a peer's nexthop carries only that peer's routes).
    public var nexthops: [NexthopOperation]
    public var pods: [PodOperation]
    public var conflicts: [Conflict]
    /// In an executed plan: the route operations the kernel refused, left out while
    /// the rest went in (never part of `routes`).
    public var refusedRoutes: [RefusedRoute] = []
    /// In an executed plan: the nexthop operations the kernel refused (never part of `nexthops`).
    public var refusedNexthops: [RefusedNexthop] = []
    /// Set creates, member changes and swaps run before the tables are committed (the
    /// rules that match a set find it filled); destroys of sets nobody wants after
    /// (a set is in use while a rule matches it).
    public var ipsets: [IPSetOperation] = []

    public init(tables: [TablePlan] = [], links: [LinkOperation] = [], addresses: [AddressOperation] = [],
                sysctls: [SysctlOperation] = [], routes: [RouteOperation] = [], nexthops: [NexthopOperation] = [],
                pods: [PodOperation] = [], conflicts: [Conflict] = []) {
        self.tables = tables.filter { !$0.operations.isEmpty }
        self.links = links
        self.addresses = addresses
        self.sysctls = sysctls
        self.routes = routes
        self.nexthops = nexthops
        self.pods = pods
        self.conflicts = conflicts
    }

    public var isEmpty: Bool {
        tables.isEmpty && links.isEmpty && addresses.isEmpty && sysctls.isEmpty && routes.isEmpty && nexthops.isEmpty
            && pods.isEmpty && ipsets.isEmpty
    }

    /// Some peer's route or nexthop was refused (apply's exit status 3).
    public var hasRefusals: Bool { !refusedRoutes.isEmpty || !refusedNexthops.isEmpty }

    public var operationCount: Int {
        tables.reduce(0) { $0 + $1.operations.count } + links.count + addresses.count + sysctls.count
            + routes.count + nexthops.count + pods.count + ipsets.count
    }
}
