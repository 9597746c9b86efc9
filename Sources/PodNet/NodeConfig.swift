/// The validated description of one node's pod networking.
///
/// Built only by `PodNetConfig` after every check has passed: nothing
/// downstream re-validates, so every value here is known to be well formed
/// (CIDRs without host bits, at most one pod CIDR per family, ports in range, ...).
public struct NodeConfig: Sendable, Hashable {
    public var version: Int
    public var node: NodeIdentity
    public var cluster: ClusterNetwork
    public var bridge: BridgeConfig
    public var masquerade: Bool
    public var forwardAccept: Bool
    /// The rtm_protocol number that marks podnet's routes as its own.
    public var routeProtocol: UInt8
    /// The routing table for peer routes (254 = main).
    public var routeTable: UInt32
    public var peers: [Peer]
    public var hostPorts: [HostPortMapping]
    public var pods: [PodSpec]

    /// Unassigned in iproute2's rt_protos (Calico uses 80, bird 12, zebra 11).
    public static let defaultRouteProtocol: UInt8 = 111
    public static let mainRouteTable: UInt32 = 254

    public init(
        version: Int = 1,
        node: NodeIdentity,
        cluster: ClusterNetwork,
        bridge: BridgeConfig = BridgeConfig(),
        masquerade: Bool = true,
        forwardAccept: Bool = true,
        routeProtocol: UInt8 = NodeConfig.defaultRouteProtocol,
        routeTable: UInt32 = NodeConfig.mainRouteTable,
        peers: [Peer] = [],
        hostPorts: [HostPortMapping] = [],
        pods: [PodSpec] = []
    ) {
        self.version = version
        self.node = node
        self.cluster = cluster
        self.bridge = bridge
        self.masquerade = masquerade
        self.forwardAccept = forwardAccept
        self.routeProtocol = routeProtocol
        self.routeTable = routeTable
        self.peers = peers
        self.hostPorts = hostPorts
        self.pods = pods
    }

    /// The families this node uses: those of its pod CIDRs.
    public var families: [IPFamily] {
        IPFamily.allCases.filter { family in node.podCIDRs.contains { $0.family == family } }
    }

    public func nodePodCIDR(for family: IPFamily) -> IPNetwork? {
        node.podCIDRs.first { $0.family == family }
    }
}

public struct NodeIdentity: Sendable, Hashable {
    public var name: String
    /// At most one per family.
    public var podCIDRs: [IPNetwork]

    public init(name: String, podCIDRs: [IPNetwork]) {
        self.name = name
        self.podCIDRs = podCIDRs
    }
}

public struct ClusterNetwork: Sendable, Hashable {
    public var podCIDRs: [IPNetwork]
    /// Destinations reached without masquerade; defaults to `podCIDRs`.
    public var nonMasqueradeCIDRs: [IPNetwork]

    public init(podCIDRs: [IPNetwork], nonMasqueradeCIDRs: [IPNetwork]? = nil) {
        self.podCIDRs = podCIDRs
        self.nonMasqueradeCIDRs = nonMasqueradeCIDRs ?? podCIDRs
    }
}

public struct BridgeConfig: Sendable, Hashable {
    public var name: String
    public var mtu: MTUSetting
    public var hairpinMode: HairpinMode

    public static let defaultName = "cbr0"

    public init(name: String = BridgeConfig.defaultName, mtu: MTUSetting = .automatic,
                hairpinMode: HairpinMode = .hairpinVeth) {
        self.name = name
        self.mtu = mtu
        self.hairpinMode = hairpinMode
    }
}

/// The bridge MTU: fixed, or kubenet's rule resolved at apply time (the
/// smallest MTU of the node's up, non-loopback interfaces, else 1460).
public enum MTUSetting: Sendable, Hashable, CustomStringConvertible {
    case automatic
    case fixed(Int)

    public static let fallback = 1460

    public var description: String {
        switch self {
        case .automatic: return "auto"
        case .fixed(let value): return String(value)
        }
    }
}

/// How a pod reaches its own service through the node (hairpin traffic).
public enum HairpinMode: String, Sendable, Hashable, CaseIterable {
    /// The hairpin flag on every port of podnet's bridge.
    case hairpinVeth = "hairpin-veth"
    /// The bridge in promiscuous mode (needs de-duplication of flooded frames).
    case promiscuousBridge = "promiscuous-bridge"
    case none
}

/// Another node: its pod CIDRs are routed via its node IPs.
public struct Peer: Sendable, Hashable {
    public var name: String
    public var nodeIPs: [IPAddress]
    public var podCIDRs: [IPNetwork]

    public init(name: String, nodeIPs: [IPAddress], podCIDRs: [IPNetwork]) {
        self.name = name
        self.nodeIPs = nodeIPs
        self.podCIDRs = podCIDRs
    }

    public func nodeIP(for family: IPFamily) -> IPAddress? {
        nodeIPs.first { $0.family == family }
    }
}

/// A transport protocol a host port can use.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable, Comparable {
    case tcp
    case udp
    case sctp

    public var number: UInt8 {
        switch self {
        case .tcp: return 6
        case .udp: return 17
        case .sctp: return 132
        }
    }

    public static func < (lhs: TransportProtocol, rhs: TransportProtocol) -> Bool {
        lhs.number < rhs.number
    }
}

/// One host port: traffic to hostPort on the node (or on hostIP only) goes to podIP:containerPort.
public struct HostPortMapping: Sendable, Hashable {
    public var podIP: IPAddress
    public var transport: TransportProtocol
    public var hostPort: UInt16
    public var containerPort: UInt16
    /// Only this local address; nil = every local address of the family.
    public var hostIP: IPAddress?
    /// The owning pod's name, shown in the rules' comments (as kubenet did); from the
    /// entry's `pod` key, else the `pods:` entry holding podIP.
    public var podName: String?

    public init(podIP: IPAddress, transport: TransportProtocol, hostPort: UInt16,
                containerPort: UInt16, hostIP: IPAddress? = nil, podName: String? = nil) {
        self.podIP = podIP
        self.transport = transport
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.hostIP = hostIP
        self.podName = podName
    }

    public var family: IPFamily { podIP.family }

    /// The comment on this mapping's rules. Validation checks it against the kernel's
    /// 255-byte comment limit, so the compiler can use it as it is. Built as bytes: a
    /// thousand host ports make a thousand comments, in validation and again in compile,
    /// and interpolating the port would cast it dynamically.
    public var comment: String {
        var text: [UInt8] = []
        text.reserveCapacity(64)
        text.appendUTF8("podnet: hostport ")
        if let podName {
            text.appendUTF8(podName)
            text.append(UInt8(ascii: " "))
        }
        text.appendUTF8(transport.rawValue)
        text.append(UInt8(ascii: "/"))
        text.appendDecimal(hostPort)
        if let hostIP {
            text.appendUTF8(" on ")
            text.appendUTF8(hostIP.description)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The kernel's comment limit (XT_MAX_COMMENT_LEN - 1).
    public static let maxCommentBytes = 255
}

/// A pod whose interface podnet attaches itself.
public struct PodSpec: Sendable, Hashable {
    public var name: String
    /// Absolute path of the pod's network namespace file (a bare name is resolved
    /// under /run/netns during config loading).
    public var netnsPath: String
    /// At most one per family, inside the node's pod CIDRs.
    public var ips: [IPAddress]
    /// The pod's interface name: eth0 for the config's pods, CNI_IFNAME for the runtime's.
    public var interface: String
    /// The Kubernetes pod (namespace and name, from CNI_ARGS) a runtime's attachment
    /// serves as its primary interface; nil for the config's pods, for containers
    /// Kubernetes did not make and for a pod's secondary interfaces.
    /// NetworkPolicy holds such a pod back until the cluster's List places it
    /// (`PolicyWait`).
    public var kubernetesPod: KubernetesPodName?

    public init(name: String, netnsPath: String, ips: [IPAddress], interface: String = PodAttachment.podInterfaceName,
                kubernetesPod: KubernetesPodName? = nil) {
        self.name = name
        self.netnsPath = netnsPath
        self.ips = ips
        self.interface = interface
        self.kubernetesPod = kubernetesPod
    }
}

/// A Kubernetes pod's identity: its namespace and name.
public struct KubernetesPodName: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// `namespace/name`, as CNI_ARGS' K8S_POD_NAMESPACE and K8S_POD_NAME give it; nil
    /// for a bare name (no namespace: not a pod Kubernetes made).
    public init?(_ text: String) {
        guard let slash = text.firstIndex(of: "/"), slash != text.startIndex, slash != text.index(before: text.endIndex)
        else { return nil }
        self.init(namespace: String(text[..<slash]), name: String(text[text.index(after: slash)...]))
    }

    public var description: String { "\(namespace)/\(name)" }
}
