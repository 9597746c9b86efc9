/// What the cluster says about pods and policy (`--cluster`: the Namespaces, Pods and
/// NetworkPolicies of `kubectl get nodes,namespaces,pods,networkpolicies -A -o json`),
/// validated: the input of the policy compiler.
public struct ClusterState: Sendable, Hashable {
    public var namespaces: [ClusterNamespace]
    public var pods: [ClusterPod]
    public var policies: [NetworkPolicy]

    public init(namespaces: [ClusterNamespace] = [], pods: [ClusterPod] = [], policies: [NetworkPolicy] = []) {
        self.namespaces = namespaces
        self.pods = pods
        self.policies = policies
    }
}

public typealias Labels = [String: String]

public struct ClusterNamespace: Sendable, Hashable {
    public var name: String
    /// With `kubernetes.io/metadata.name` always present (the API server sets it on
    /// every namespace, and policies select namespaces by it).
    public var labels: Labels

    public static let nameLabel = "kubernetes.io/metadata.name"

    public init(name: String, labels: Labels = [:]) {
        self.name = name
        var labels = labels
        labels[Self.nameLabel] = name
        self.labels = labels
    }
}

public struct ContainerPort: Sendable, Hashable {
    public var name: String?
    public var port: UInt16
    public var transport: TransportProtocol

    public init(name: String?, port: UInt16, transport: TransportProtocol) {
        self.name = name
        self.port = port
        self.transport = transport
    }
}

public enum PodPhase: String, Sendable, Hashable {
    case pending = "Pending"
    case running = "Running"
    case succeeded = "Succeeded"
    case failed = "Failed"
    case unknown = "Unknown"
}

public struct ClusterPod: Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var labels: Labels
    public var nodeName: String?
    public var hostNetwork: Bool
    /// `status.podIPs`, else `status.podIP`.
    public var ips: [IPAddress]
    public var phase: PodPhase?
    public var ports: [ContainerPort]

    public init(namespace: String, name: String, labels: Labels = [:], nodeName: String? = nil, hostNetwork: Bool = false,
                ips: [IPAddress] = [], phase: PodPhase? = .running, ports: [ContainerPort] = []) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.nodeName = nodeName
        self.hostNetwork = hostNetwork
        self.ips = ips
        self.phase = phase
        self.ports = ports
    }

    /// A pod policy can select or name as a peer: on the pod network, not finished,
    /// with an address. hostNetwork pods are their node's traffic.
    public var takesPartInPolicy: Bool {
        !hostNetwork && !ips.isEmpty && phase != .succeeded && phase != .failed
    }
}

/// A label selector (metav1.LabelSelector): `matchLabels` and `matchExpressions`,
/// ANDed; an empty selector selects everything.
public struct LabelSelector: Sendable, Hashable {
    public var matchLabels: Labels
    public var matchExpressions: [LabelRequirement]

    public init(matchLabels: Labels = [:], matchExpressions: [LabelRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public static let everything = LabelSelector()

    public var selectsEverything: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    public func matches(_ labels: Labels) -> Bool {
        matchLabels.allSatisfy { labels[$0.key] == $0.value } && matchExpressions.allSatisfy { $0.matches(labels) }
    }
}

public struct LabelRequirement: Sendable, Hashable {
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case `in` = "In"
        case notIn = "NotIn"
        case exists = "Exists"
        case doesNotExist = "DoesNotExist"
    }

    public var key: String
    public var op: Operator
    public var values: [String]

    public init(key: String, op: Operator, values: [String] = []) {
        self.key = key
        self.op = op
        self.values = values
    }

    /// As apimachinery's labels.Requirement: `NotIn` holds when the key is absent.
    public func matches(_ labels: Labels) -> Bool {
        switch op {
        case .in: return labels[key].map(values.contains) ?? false
        case .notIn: return labels[key].map { !values.contains($0) } ?? true
        case .exists: return labels[key] != nil
        case .doesNotExist: return labels[key] == nil
        }
    }
}

/// networking.k8s.io/v1 NetworkPolicy, validated.
public struct NetworkPolicy: Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var podSelector: LabelSelector
    /// `policyTypes` resolved: Ingress when listed (or when none are listed), Egress
    /// when listed (or, with none listed, when the policy has egress rules).
    public var isolatesIngress: Bool
    public var isolatesEgress: Bool
    public var ingress: [PolicyRule]
    public var egress: [PolicyRule]

    public init(namespace: String, name: String, podSelector: LabelSelector = .everything,
                isolatesIngress: Bool, isolatesEgress: Bool, ingress: [PolicyRule] = [], egress: [PolicyRule] = []) {
        self.namespace = namespace
        self.name = name
        self.podSelector = podSelector
        self.isolatesIngress = isolatesIngress
        self.isolatesEgress = isolatesEgress
        self.ingress = ingress
        self.egress = egress
    }
}

/// One ingress (`from`) or egress (`to`) rule: a peer and a port must both match.
public struct PolicyRule: Sendable, Hashable {
    /// Empty: every peer.
    public var peers: [PolicyPeer]
    /// Empty: every port of every protocol.
    public var ports: [PolicyPort]

    public init(peers: [PolicyPeer] = [], ports: [PolicyPort] = []) {
        self.peers = peers
        self.ports = ports
    }
}

public enum PolicyPeer: Sendable, Hashable {
    /// `podSelector` and/or `namespaceSelector`: nil namespace selector means the
    /// policy's own namespace; nil pod selector means every pod of the namespaces.
    case pods(podSelector: LabelSelector?, namespaceSelector: LabelSelector?)
    case ipBlock(cidr: IPNetwork, except: [IPNetwork])
}

public struct PolicyPort: Sendable, Hashable {
    public enum Port: Sendable, Hashable {
        case number(UInt16)
        /// `port` through `endPort`, inclusive.
        case range(UInt16, UInt16)
        /// A container port's name, resolved on the destination pod.
        case named(String)
    }

    public var transport: TransportProtocol
    /// nil: every port of the protocol.
    public var port: Port?

    public init(transport: TransportProtocol = .tcp, port: Port? = nil) {
        self.transport = transport
        self.port = port
    }
}
