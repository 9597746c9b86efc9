import PodNet
import PodNetIptables
import PodNetNetlink
import PodNetSystem

/// How podnet recognises its own things on a node, beyond the marks it puts on
/// chains, jumps, links and pods: its route protocol and table, and the bridge name.
public struct Ownership: Sendable, Hashable {
    public var bridgeName: String?
    public var routeProtocol: UInt8
    public var routeTable: UInt32

    public init(bridgeName: String?, routeProtocol: UInt8 = NodeConfig.defaultRouteProtocol,
                routeTable: UInt32 = NodeConfig.mainRouteTable) {
        self.bridgeName = bridgeName
        self.routeProtocol = routeProtocol
        self.routeTable = routeTable
    }

    public init(_ config: NodeConfig) {
        self.init(bridgeName: config.bridge.name, routeProtocol: config.routeProtocol, routeTable: config.routeTable)
    }
}

/// diff, apply and teardown on one node (network namespace): observe, plan,
/// and execute the same plan the dry run shows.
public struct NodeDataplane: Sendable {
    public var namespace: NetworkNamespace?
    public var iptables: Iptables
    public var lockWait: Duration
    var sessions = NetlinkSessions()

    public init(namespace: NetworkNamespace?, iptables: Iptables, lockWait: Duration = .seconds(60)) {
        self.namespace = namespace
        self.iptables = iptables
        self.lockWait = lockWait
    }

    var observer: NodeObserver {
        var observer = NodeObserver(namespace: namespace, iptables: iptables)
        observer.sessions = sessions
        return observer
    }

    /// The dry run: what apply would do now.
    public func plan(_ desired: DesiredState, ownership: Ownership) throws(DataplaneError) -> Plan {
        let observed = try observer.observe(desired, bridgeName: ownership.bridgeName,
                                            routeProtocol: ownership.routeProtocol, routeTable: ownership.routeTable)
        var plan = NodeDiff.plan(desired: desired, observed: observed)
        try retiringBridges(retiredBridges(bridgeName: ownership.bridgeName), into: &plan)
        return plan
    }

    /// Observes, plans and executes under the podnet lock; on failure, what was
    /// done is undone and the failure says so.
    ///
    /// The tables are not read up front: each is read once, under the xtables lock,
    /// and its operations computed and committed there (a 50,000-rule nat table is
    /// then read once per apply, not twice). The dry run reads them without the lock.
    public func apply(_ desired: DesiredState, ownership: Ownership) throws -> ApplyResult {
        try PodnetLock.forNamespace(namespace, wait: lockWait).withLock {
            let observed = try observer.observe(desired, bridgeName: ownership.bridgeName,
                                                routeProtocol: ownership.routeProtocol,
                                                routeTable: ownership.routeTable, includingTables: false)
            // Tables are diffed inside their transactions, so none go into this plan.
            var withoutTables = desired
            withoutTables.tables = []
            var plan = NodeDiff.plan(desired: withoutTables, observed: observed)
            try retiringBridges(retiredBridges(bridgeName: ownership.bridgeName), into: &plan)
            let tables = Set(NodeObserver.tables + desired.tables.map(\.id)).sorted()
            let executor = try PlanExecutor(namespace: namespace, iptables: iptables, sessions: sessions)
            return try executor.execute(plan, desired: desired, bridgeName: ownership.bridgeName,
                                        routeProtocol: ownership.routeProtocol, tables: tables,
                                        observedSetIndexes: observed.ipsetIndexes)
        }
    }

    /// Warnings about the node that the plan cannot express: nftables tables act on
    /// the same packets as podnet's rules, and libiptc cannot see them (Debian's
    /// default `iptables` writes there); and turning IPv6 forwarding on makes the
    /// kernel drop router advertisements on interfaces with accept_ra=1, so a default
    /// route the node learned from them expires.
    public func warnings(for desired: DesiredState) -> [String] {
        nftablesWarnings() + routerAdvertisementWarnings(for: desired)
    }

    private func nftablesWarnings() -> [String] {
        do {
            let tables = try NftablesProbe(namespace: namespace).tableNames()
            guard !tables.isEmpty else { return [] }
            return ["this network namespace also holds nftables tables (\(tables.joined(separator: ", "))): their rules "
                    + "act on the same packets as podnet's legacy iptables rules, and podnet cannot see them "
                    + "(Debian's default `iptables` is iptables-nft; use iptables-legacy for rules that should share "
                    + "tables with podnet)"]
        } catch {
            return ["could not check for nftables tables: \(error)"]
        }
    }

    private func routerAdvertisementWarnings(for desired: DesiredState) -> [String] {
        guard desired.sysctls.contains(SysctlSetting(.ipv6Forwarding, "1")) else { return [] }
        do {
            let netlink = try observer.session()
            return try Sysctls(namespace: namespace).ipv6ForwardingWarnings(using: netlink).map(\.description)
        } catch {
            return ["could not check which interfaces accept router advertisements: \(error)"]
        }
    }

    /// Everything podnet owns on the node, found by its marks: chains and jumps of
    /// both families, its ipsets (after the rules that match them), routes of its
    /// protocol and their nexthops, its pods' host ends, its bridge (which takes its
    /// addresses and its own sysctls with it) and the links a run left half-made. The
    /// bridge's route_localnet is turned off first, since its guard rule goes with the
    /// tables before the bridge does; the global sysctls stay as they are (other
    /// software on the node may need forwarding).
    public func teardownPlan(ownership: Ownership) throws(DataplaneError) -> Plan {
        let observed = try observer.observe(DesiredState(), bridgeName: nil, routeProtocol: ownership.routeProtocol,
                                            routeTable: ownership.routeTable)
        let tables = observed.tables.compactMap { TableDiff.plan(desired: nil, observed: $0) }
        var bridges = try observer.ownedBridgeNames()
        if let name = ownership.bridgeName { bridges = bridges.filter { $0 == name } }
        var sysctls: [SysctlOperation] = []
        for bridge in bridges { sysctls += try observer.openBridgeSysctls(of: bridge) }
        // Routes go before their nexthops (the executor's order): a nexthop deleted first
        // would take its routes along unseen, and their deletes would then be refused.
        var plan = Plan(tables: tables, links: NodeDiff.sweep(observed.unfinishedLinks) + bridges.map { .deleteBridge(name: $0) },
                        sysctls: sysctls,
                        routes: observed.routes.owned.map { .delete($0) },
                        nexthops: observed.routes.nexthops.map { .delete($0) },
                        pods: observed.pods.map { .detach($0) })
        plan.ipsets = observed.ipsets.map { .destroy($0) }
        return plan
    }

    public func teardown(ownership: Ownership) throws -> ApplyResult {
        try PodnetLock.forNamespace(namespace, wait: lockWait).withLock {
            let plan = try teardownPlan(ownership: ownership)
            guard !plan.isEmpty else { return ApplyResult(executed: Plan()) }
            let executor = try PlanExecutor(namespace: namespace, iptables: iptables, sessions: sessions)
            return try executor.execute(plan, desired: DesiredState(), bridgeName: ownership.bridgeName,
                                        routeProtocol: ownership.routeProtocol, tables: plan.tables.map(\.id))
        }
    }
}
