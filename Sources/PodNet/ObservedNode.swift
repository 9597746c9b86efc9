/// Everything observation found on a node that podnet owns or must not collide with.
public struct ObservedNode: Sendable, Hashable {
    public var tables: [ObservedTable]
    /// The link carrying the configured bridge name, if any (podnet's or not).
    public var bridge: ObservedBridge?
    /// Addresses on podnet's bridge (link-local ones excluded).
    public var bridgeAddresses: [InterfaceAddress]
    /// The current value of every sysctl podnet may write (SysctlKey.writable); for the
    /// bridge's own settings while it does not exist, the value a new link gets.
    public var sysctls: [SysctlKey: String]
    public var routes: ObservedRoutes
    /// Host ends of the pods podnet attached, found by their marker.
    public var pods: [ObservedPod]
    /// Links a run of podnet created and did not finish (`UnfinishedLink`), by name.
    public var unfinishedLinks: [String]
    /// kubenet's automatic bridge MTU on this node: the smallest MTU of the up,
    /// non-loopback interfaces that podnet did not make, else 1460.
    public var automaticMTU: Int
    /// The ipsets podnet owns (by their name prefix), members included.
    public var ipsets: [IPSetState] = []
    /// The kernel's index of every set, podnet's and others' (a rule names a set by it).
    public var ipsetIndexes = IPSetIndexes()

    public init(tables: [ObservedTable] = [], bridge: ObservedBridge? = nil, bridgeAddresses: [InterfaceAddress] = [],
                sysctls: [SysctlKey: String] = [:], routes: ObservedRoutes = ObservedRoutes(),
                pods: [ObservedPod] = [], unfinishedLinks: [String] = [], automaticMTU: Int = MTUSetting.fallback) {
        self.tables = tables
        self.bridge = bridge
        self.bridgeAddresses = bridgeAddresses.sorted()
        self.sysctls = sysctls
        self.routes = routes
        self.pods = pods.sorted { $0.name < $1.name }
        self.unfinishedLinks = unfinishedLinks.sorted()
        self.automaticMTU = automaticMTU
    }

    public func table(_ id: TableID) -> ObservedTable? { tables.first { $0.id == id } }
}

/// The link found under the bridge's name.
public struct ObservedBridge: Sendable, Hashable {
    public var name: String
    public var isBridge: Bool
    /// Carries podnet's ownership marker (its interface alias).
    public var ownedByPodnet: Bool
    public var mtu: Int
    public var macAddress: MACAddress
    public var promiscuous: Bool
    public var up: Bool
    public var ports: [BridgePort]

    public init(name: String, isBridge: Bool, ownedByPodnet: Bool, mtu: Int, macAddress: MACAddress,
                promiscuous: Bool, up: Bool, ports: [BridgePort]) {
        self.name = name
        self.isBridge = isBridge
        self.ownedByPodnet = ownedByPodnet
        self.mtu = mtu
        self.macAddress = macAddress
        self.promiscuous = promiscuous
        self.up = up
        self.ports = ports.sorted { $0.name < $1.name }
    }
}

public struct BridgePort: Sendable, Hashable {
    public var name: String
    public var hairpin: Bool

    public init(name: String, hairpin: Bool) {
        self.name = name
        self.hairpin = hairpin
    }
}

/// A pod host end podnet made, identified by the marker it carries.
public struct ObservedPod: Sendable, Hashable {
    public var name: String
    public var hostInterface: String
    /// The digest of the attachment it was made from: a changed pod spec means a new attachment.
    public var specDigest: String

    public init(name: String, hostInterface: String, specDigest: String) {
        self.name = name
        self.hostInterface = hostInterface
        self.specDigest = specDigest
    }
}
