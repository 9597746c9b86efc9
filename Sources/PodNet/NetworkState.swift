/// A 48-bit Ethernet address.
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 6, "a MAC address has 6 bytes")
        self.bytes = bytes
    }

    /// Lower-case colon-separated, as `ip link` prints it.
    public var description: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}

/// The bridge podnet owns.
public struct BridgeState: Sendable, Hashable {
    public var name: String
    public var mtu: MTUSetting
    /// Fixed so that the gateway's MAC does not follow the lowest port MAC.
    public var macAddress: MACAddress
    public var promiscuous: Bool
    /// The hairpin flag wanted on every port of the bridge.
    public var hairpinPorts: Bool

    public init(name: String, mtu: MTUSetting, macAddress: MACAddress, promiscuous: Bool, hairpinPorts: Bool) {
        self.name = name
        self.mtu = mtu
        self.macAddress = macAddress
        self.promiscuous = promiscuous
        self.hairpinPorts = hairpinPorts
    }

    /// The interface alias that marks a link as created by podnet.
    public static let ownershipAlias = "podnet: managed bridge"
}

/// An address on an interface, with its prefix (`ip addr add 10.244.1.1/24 dev cbr0`).
public struct InterfaceAddress: Sendable, Hashable, Comparable {
    public var interface: String
    public var address: IPAddress
    public var prefixLength: Int

    public init(interface: String, address: IPAddress, prefixLength: Int) {
        self.interface = interface
        self.address = address
        self.prefixLength = prefixLength
    }

    public var family: IPFamily { address.family }

    public static func < (lhs: InterfaceAddress, rhs: InterfaceAddress) -> Bool {
        (lhs.interface, lhs.address, lhs.prefixLength) < (rhs.interface, rhs.address, rhs.prefixLength)
    }
}

/// How a route reaches the peer: through a gateway written into the route (a classic
/// route, `via G`) or through a nexthop object the route refers to by id (`nhid N`).
public enum RouteVia: Sendable, Hashable {
    case gateway(IPAddress)
    case nexthop(id: UInt32)
}

/// A route podnet owns: a peer's pod CIDR via the peer's node IP, or via the peer's
/// nexthop object (whose gateway is that node IP).
public struct RouteState: Sendable, Hashable, Comparable {
    public var destination: IPNetwork
    public var via: RouteVia
    public var table: UInt32
    public var proto: UInt8

    public init(destination: IPNetwork, via: RouteVia, table: UInt32, proto: UInt8) {
        self.destination = destination
        self.via = via
        self.table = table
        self.proto = proto
    }

    /// A classic route via `gateway`.
    public init(destination: IPNetwork, gateway: IPAddress, table: UInt32, proto: UInt8) {
        self.init(destination: destination, via: .gateway(gateway), table: table, proto: proto)
    }

    public var family: IPFamily { destination.family }

    /// The gateway of a classic route (nil for one through a nexthop object).
    public var gateway: IPAddress? {
        if case .gateway(let gateway) = via { return gateway }
        return nil
    }

    /// The nexthop object a route refers to (nil for a classic route).
    public var nexthopID: UInt32? {
        if case .nexthop(let id) = via { return id }
        return nil
    }

    /// What identifies a route in the kernel's table (family, table, destination).
    public var key: RouteKey { RouteKey(table: table, destination: destination) }

    public static func < (lhs: RouteState, rhs: RouteState) -> Bool {
        (lhs.destination, lhs.table) < (rhs.destination, rhs.table)
    }

    /// `routes.sorted()` (equal keys in input order), sorted as plain integers and then
    /// put in that order: moving 40,000 routes through a sort cost more than the rest
    /// of compiling them.
    static func sorted(_ routes: [RouteState]) -> [RouteState] {
        struct Order: Comparable {
            var family: UInt8, high: UInt64, low: UInt64, prefixLength: Int, table: UInt32, index: Int

            static func < (lhs: Order, rhs: Order) -> Bool {
                if lhs.family != rhs.family { return lhs.family < rhs.family }
                if lhs.high != rhs.high { return lhs.high < rhs.high }
                if lhs.low != rhs.low { return lhs.low < rhs.low }
                if lhs.prefixLength != rhs.prefixLength { return lhs.prefixLength < rhs.prefixLength }
                if lhs.table != rhs.table { return lhs.table < rhs.table }
                return lhs.index < rhs.index
            }
        }
        let order = routes.indices.map { index in
            let address = routes[index].destination.address
            return Order(family: address.family == .ipv4 ? 0 : 1, high: address.high, low: address.low,
                         prefixLength: routes[index].destination.prefixLength, table: routes[index].table, index: index)
        }
        return order.sorted().map { routes[$0.index] }
    }
}

public struct RouteKey: Sendable, Hashable {
    public var table: UInt32
    public var destination: IPNetwork

    public init(table: UInt32, destination: IPNetwork) {
        self.table = table
        self.destination = destination
    }
}

/// A kernel setting under /proc/sys.
public enum SysctlKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    case ipv4Forwarding
    case ipv6Forwarding
    case bridgeCallsIptables
    case bridgeCallsIp6tables
    case routeLocalnet(interface: String)

    /// The path below /proc/sys.
    public var path: String {
        switch self {
        case .ipv4Forwarding: return "net/ipv4/ip_forward"
        case .ipv6Forwarding: return "net/ipv6/conf/all/forwarding"
        case .bridgeCallsIptables: return "net/bridge/bridge-nf-call-iptables"
        case .bridgeCallsIp6tables: return "net/bridge/bridge-nf-call-ip6tables"
        case .routeLocalnet(let interface): return "net/ipv4/conf/\(interface)/route_localnet"
        }
    }

    /// The dotted name `sysctl` takes.
    public var description: String { path.replacingSlashes() }

    /// The link a per-interface setting belongs to; nil for a setting of the whole namespace.
    public var interface: String? {
        if case .routeLocalnet(let interface) = self { return interface }
        return nil
    }

    /// The same setting of the `default` conf, which the kernel copies into every link
    /// it creates: what a bridge not made yet will start with.
    public var ofNewLinks: SysctlKey {
        switch self {
        case .routeLocalnet: return .routeLocalnet(interface: "default")
        case .ipv4Forwarding, .ipv6Forwarding, .bridgeCallsIptables, .bridgeCallsIp6tables: return self
        }
    }

    /// The settings of the whole namespace podnet may write.
    public static let global: [SysctlKey] = [.ipv4Forwarding, .ipv6Forwarding, .bridgeCallsIptables, .bridgeCallsIp6tables]

    /// The settings podnet may write on its bridge `name` (deleting the bridge takes them with it).
    public static func ofBridge(_ name: String) -> [SysctlKey] { [.routeLocalnet(interface: name)] }

    /// Every setting podnet may write on a node whose bridge is `bridge`: observation
    /// reads them all, whatever the config wants now, so that a setting podnet made and
    /// no longer wants is seen (and undone, for the bridge's own settings).
    public static func writable(bridge: String?) -> [SysctlKey] {
        global + (bridge.map(ofBridge) ?? [])
    }

    public static func < (lhs: SysctlKey, rhs: SysctlKey) -> Bool { lhs.path < rhs.path }
}

extension String {
    fileprivate func replacingSlashes() -> String {
        String(map { $0 == "/" ? "." : $0 })
    }
}

public struct SysctlSetting: Sendable, Hashable, Comparable {
    public var key: SysctlKey
    public var value: String

    public init(_ key: SysctlKey, _ value: String) {
        self.key = key
        self.value = value
    }

    public static func < (lhs: SysctlSetting, rhs: SysctlSetting) -> Bool { lhs.key < rhs.key }
}

/// A pod attached by podnet: a veth pair, the host end on the bridge.
public struct PodAttachment: Sendable, Hashable {
    public var name: String
    public var netnsPath: String
    /// Derived from the pod name, at most 15 characters.
    public var hostInterface: String
    /// Named eth0 inside the pod.
    public var podInterface: String
    /// The pod's addresses with the node pod CIDR's prefix.
    public var addresses: [InterfaceAddress]
    /// Default route per family via the bridge's gateway.
    public var gateways: [IPAddress]
    public var mtu: MTUSetting
    /// The MAC of the pod's interface, derived from its addresses: a pod remade with the
    /// same addresses keeps its MAC, so the node's neighbour entries for it stay right
    /// (nil: the kernel's random one).
    public var podMACAddress: MACAddress?

    /// The name of the pod's end of the veth pair, as kubenet's CNI bridge plugin named it.
    public static let podInterfaceName = "eth0"

    public init(name: String, netnsPath: String, hostInterface: String,
                podInterface: String = PodAttachment.podInterfaceName,
                addresses: [InterfaceAddress], gateways: [IPAddress], mtu: MTUSetting,
                podMACAddress: MACAddress? = nil) {
        self.podMACAddress = podMACAddress
        self.name = name
        self.netnsPath = netnsPath
        self.hostInterface = hostInterface
        self.podInterface = podInterface
        self.addresses = addresses
        self.gateways = gateways
        self.mtu = mtu
    }
}

/// Everything podnet wants on one node (DesiredState) or found of its own
/// there (ObservedState, same shape).
public struct NodeState: Sendable, Hashable {
    /// Per family and table, sorted by `TableID`.
    public var tables: [TableState]
    public var bridge: BridgeState?
    public var addresses: [InterfaceAddress]
    public var sysctls: [SysctlSetting]
    public var routes: [RouteState]
    /// The nexthop objects `routes` refer to (one per peer and family, see `RouteForm`).
    public var nexthops: [PeerNexthop]
    public var pods: [PodAttachment]
    /// podnet's ipsets (named with `IPSetState.ownedPrefix`), sorted by name.
    public var ipsets: [IPSetState]

    public init(tables: [TableState] = [], bridge: BridgeState? = nil, addresses: [InterfaceAddress] = [],
                sysctls: [SysctlSetting] = [], routes: [RouteState] = [], nexthops: [PeerNexthop] = [],
                pods: [PodAttachment] = [], ipsets: [IPSetState] = []) {
        // By id through their indices: a nexthop carries its owner's name, costly to move.
        self.nexthops = nexthops.indices.sorted { nexthops[$0].id < nexthops[$1].id }.map { nexthops[$0] }
        self.ipsets = ipsets.sorted { $0.name < $1.name }
        self.tables = tables.sorted { $0.id < $1.id }
        self.bridge = bridge
        self.addresses = addresses.sorted()
        self.sysctls = sysctls.sorted()
        self.routes = RouteState.sorted(routes)
        self.pods = pods.sorted { $0.name < $1.name }
    }

    public func table(_ id: TableID) -> TableState? { tables.first { $0.id == id } }
}

public typealias DesiredState = NodeState
