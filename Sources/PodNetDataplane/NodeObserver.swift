import PodNet
import PodNetIptables
import PodNetNetlink
import PodNetSystem

/// Reads what podnet owns on a node (and what it must not collide with) from the
/// kernel: both families' nat and filter tables, the bridge, its addresses and
/// ports, every sysctl podnet may write, podnet's routes and pods, and the links a
/// run of podnet left half-made.
public struct NodeObserver {
    public var namespace: NetworkNamespace?
    public var iptables: Iptables
    var sessions = NetlinkSessions()

    /// Every table podnet may have written: observed whatever the config says now,
    /// so that a family or table the config no longer uses is cleaned up.
    public static let tables: [TableID] = IPFamily.allCases.flatMap { family in
        [TableID(family, .filter), TableID(family, .nat)]
    }

    public init(namespace: NetworkNamespace?, iptables: Iptables) {
        self.namespace = namespace
        self.iptables = iptables
    }

    /// What the kernel holds for the bridge, podnet's sysctls and `desired`'s routes
    /// (podnet's routes are those of `routeProtocol` in `routeTable`).
    /// `includingTables: false` leaves the iptables tables unread, for an apply that
    /// reads each one under the xtables lock anyway.
    public func observe(_ desired: DesiredState, bridgeName: String?, routeProtocol: UInt8,
                        routeTable: UInt32, includingTables: Bool = true) throws(DataplaneError) -> ObservedNode {
        // The sets first: rules that match one name it by the kernel's index.
        let ipsets = try observeIPSets(wanted: !desired.ipsets.isEmpty)
        var reader = self
        reader.iptables.sets = ipsets.indexes
        var tables: [ObservedTable] = []
        if includingTables {
            for id in Self.tables {
                if let table = try reader.observeTable(id, wanted: desired.table(id) != nil) { tables.append(table) }
            }
        }
        let netlink = try session()
        var observed = ObservedNode(tables: tables)
        observed.ipsets = ipsets.owned
        observed.ipsetIndexes = ipsets.indexes
        if let bridgeName {
            (observed.bridge, observed.bridgeAddresses) = try observeBridge(bridgeName, netlink)
        }
        do {
            observed.routes = try netlink.observeRoutes(desired: desired.routes, proto: routeProtocol, table: routeTable)
            observed.pods = try netlink.observePods()
            observed.unfinishedLinks = try netlink.unfinishedLinks().map(\.name)
            observed.automaticMTU = try netlink.automaticMTU()
        } catch {
            throw .netlink(error, while: "reading routes, pods and links")
        }
        observed.sysctls = try observeSysctls(wanted: Set(desired.sysctls.map(\.key)), bridgeName: bridgeName,
                                              bridge: observed.bridge)
        return observed
    }

    /// Every sysctl podnet may have written, whatever is `wanted` now: a setting it
    /// made and no longer wants is seen. The bridge's own settings are read from the
    /// bridge when it is podnet's, from the `default` conf a new link copies when it
    /// does not exist yet (so creating it needs no write unless that differs), and not
    /// at all from a link that is not podnet's. A setting the kernel lacks (IPv6
    /// disabled, br_netfilter not loaded) is an error only when it is wanted.
    private func observeSysctls(wanted: Set<SysctlKey>, bridgeName: String?,
                                bridge: ObservedBridge?) throws(DataplaneError) -> [SysctlKey: String] {
        let sysctls = Sysctls(namespace: namespace)
        var values: [SysctlKey: String] = [:]
        for key in SysctlKey.writable(bridge: bridgeName) {
            let source: SysctlKey
            switch (key.interface, bridge) {
            case (nil, _): source = key
            case (_?, nil): source = key.ofNewLinks
            case (_?, let bridge?) where bridge.isBridge && bridge.ownedByPodnet: source = key
            case (_?, _?): continue
            }
            do {
                values[key] = wanted.contains(key) ? try sysctls.value(of: source) : try sysctls.valueIfPresent(of: source)
            } catch {
                throw .sysctl(error)
            }
        }
        return values
    }

    /// The settings of a bridge of podnet's that differ from their closed value
    /// (teardown closes them before the guard rules go; the bridge takes them with it).
    public func openBridgeSysctls(of bridgeName: String) throws(DataplaneError) -> [SysctlOperation] {
        let sysctls = Sysctls(namespace: namespace)
        var operations: [SysctlOperation] = []
        for key in SysctlKey.ofBridge(bridgeName) {
            let value: String?
            do {
                value = try sysctls.valueIfPresent(of: key)
            } catch {
                throw .sysctl(error)
            }
            if let value, value != key.closedValue {
                operations.append(SysctlOperation(key: key, from: value, to: key.closedValue))
            }
        }
        return operations
    }

    /// podnet's ipsets, found by their name prefix (foreign sets are not kept). A kernel
    /// without the ip_set subsystem holds none of podnet's, which is an error only
    /// when sets are `wanted`.
    /// With the kernel's index of every set (podnet's or not: a rule is read with them).
    func observeIPSets(wanted: Bool) throws(DataplaneError) -> (owned: [IPSetState], indexes: IPSetIndexes) {
        try withIPSets(wanted: wanted, none: ([], IPSetIndexes())) { sets throws(NetlinkOperationError) in
            let listing = try sets.listing()
            return (listing.sets.filter { IPSetState.isOwned($0.name) }, listing.indexes)
        }
    }

    /// The kernel's index of every set, from a listing of the sets' headers only: what
    /// a table commit needs once sets were made, without their members again.
    func observeIPSetIndexes(wanted: Bool) throws(DataplaneError) -> IPSetIndexes {
        try withIPSets(wanted: wanted, none: IPSetIndexes()) { sets throws(NetlinkOperationError) in try sets.indexes() }
    }

    /// `body` over a new ipset session; `none` when the kernel has no ipset subsystem
    /// and no set is `wanted` (a node without policy needs none).
    func withIPSets<Result>(wanted: Bool, none: Result,
                                    _ body: (IPSets) throws(NetlinkOperationError) -> Result) throws(DataplaneError) -> Result {
        let sets: IPSets
        do {
            sets = try sessions.openIPSets(in: namespace)
        } catch {
            throw .netlink(error, while: "opening an ipset socket")
        }
        do {
            return try body(sets)
        } catch {
            if !wanted, error.isMissingIPSetSubsystem { return none }
            throw .netlinkOperation(error)
        }
    }

    /// The link under the bridge's name and, when it is podnet's bridge, its addresses.
    private func observeBridge(_ name: String, _ netlink: Netlink) throws(DataplaneError)
        -> (ObservedBridge?, [InterfaceAddress]) {
        let bridge: ObservedBridge?, link: Link?
        do {
            bridge = try netlink.observeBridge(named: name)
            guard let bridge, bridge.isBridge, bridge.ownedByPodnet else { return (bridge, []) }
            link = try netlink.ownedBridge(named: name)
        } catch {
            throw .netlinkOperation(error)
        }
        guard let link else { return (bridge, []) }
        do {
            return (bridge, try netlink.bridgeAddresses(of: link))
        } catch {
            throw .netlink(error, while: "reading the addresses of \(name)")
        }
    }

    /// The table as the kernel holds it. A kernel without the table's family (IPv6
    /// disabled) holds nothing of podnet's there: nil, unless podnet wants the table,
    /// which is then an error saying so.
    public func observeTable(_ id: TableID, wanted: Bool) throws(DataplaneError) -> ObservedTable? {
        do {
            return try iptables.snapshot(id, foreignChainEntries: false).observed
        } catch let error as IptablesError {
            if case .familyUnavailable = error, !wanted { return nil }
            throw .iptables(error)
        } catch {
            throw DataplaneError(error)
        }
    }

    /// The bridges podnet created, found by their marker (teardown without a config).
    public func ownedBridgeNames() throws(DataplaneError) -> [String] {
        let netlink = try session()
        do {
            return try netlink.links().filter { $0.kind == "bridge" && $0.alias == BridgeState.ownershipAlias }
                .map(\.name).sorted()
        } catch {
            throw .netlink(error, while: "listing links")
        }
    }

    func session() throws(DataplaneError) -> Netlink {
        do {
            return try sessions.open(in: namespace)
        } catch {
            throw .netlink(error, while: "opening a netlink socket")
        }
    }
}
