import PodNet

/// NetworkPolicy evaluated into values, before any rule is rendered: which pods a
/// policy targets, which pods and address blocks a rule's peers are, which ports a
/// rule's port entries are on a given destination pod, and (from those) whether a
/// connection is allowed. The rendering builds its sets and rules from the same
/// values; the tables of cases in `PolicyEvaluationTests` hold this to the API's
/// meaning (NETPOL.md) without rendering a rule.
public struct PolicyEvaluation: Sendable {
    public let cluster: ClusterState
    private let namespaceLabels: [String: Labels]
    /// The pods that take part in policy, by namespace (in the List's order): selectors
    /// are evaluated per namespace first, so a cluster of 10,000 pods in 500 namespaces
    /// is not scanned whole for every policy.
    private let podsByNamespace: [String: [ClusterPod]]
    /// Every namespace's name, sorted: the order a namespace selector's pods come in.
    private let namespaceNames: [String]

    public init(_ cluster: ClusterState) {
        self.cluster = cluster
        var labels: [String: Labels] = [:]
        for namespace in cluster.namespaces { labels[namespace.name] = namespace.labels }
        var pods: [String: [ClusterPod]] = [:]
        for pod in cluster.pods {
            // A namespace a pod names but the List lacks still has its name label.
            if labels[pod.namespace] == nil { labels[pod.namespace] = ClusterNamespace(name: pod.namespace).labels }
            if pod.takesPartInPolicy { pods[pod.namespace, default: []].append(pod) }
        }
        namespaceLabels = labels
        podsByNamespace = pods
        namespaceNames = labels.keys.sorted()
    }

    public enum Direction: Sendable, Hashable {
        case ingress, egress
    }

    /// The pods a policy applies to: those of its namespace its pod selector matches.
    public func targets(of policy: NetworkPolicy) -> [ClusterPod] {
        (podsByNamespace[policy.namespace] ?? []).filter { self.policy(policy, targets: $0) }
    }

    /// Whether `policy` applies to `pod`: one pod's answer to `targets(of:)`.
    public func policy(_ policy: NetworkPolicy, targets pod: ClusterPod) -> Bool {
        pod.takesPartInPolicy && pod.namespace == policy.namespace && policy.podSelector.matches(pod.labels)
    }

    /// The policies that isolate `pod` in `direction`.
    public func policies(isolating pod: ClusterPod, _ direction: Direction) -> [NetworkPolicy] {
        guard pod.takesPartInPolicy else { return [] }
        return cluster.policies.filter { policy in
            (direction == .ingress ? policy.isolatesIngress : policy.isolatesEgress) && self.policy(policy, targets: pod)
        }
    }

    /// The pods a pod peer names: a namespace selector picks namespaces (none: the
    /// policy's own), a pod selector pods in them (none: all of them).
    public func pods(of peer: PolicyPeer, policyNamespace: String) -> [ClusterPod] {
        guard case .pods(let podSelector, let namespaceSelector) = peer else { return [] }
        let namespaces = namespaceSelector == nil
            ? [policyNamespace]
            : namespaceNames.filter { self.peer(peer, policyNamespace: policyNamespace, selectsNamespace: $0) }
        return namespaces.flatMap { namespace in
            (podsByNamespace[namespace] ?? []).filter { Self.podSelector(podSelector, matches: $0) }
        }
    }

    /// Whether a pod peer names `pod`: one pod's answer to `pods(of:policyNamespace:)`.
    public func peer(_ peer: PolicyPeer, policyNamespace: String, names pod: ClusterPod) -> Bool {
        guard case .pods(let podSelector, _) = peer, pod.takesPartInPolicy else { return false }
        return self.peer(peer, policyNamespace: policyNamespace, selectsNamespace: pod.namespace)
            && Self.podSelector(podSelector, matches: pod)
    }

    /// Whether a pod peer's pods may come from `namespace`: its namespace selector
    /// matches the namespace's labels; without one, the policy's own namespace.
    public func peer(_ peer: PolicyPeer, policyNamespace: String, selectsNamespace namespace: String) -> Bool {
        guard case .pods(_, let namespaceSelector) = peer else { return false }
        guard let namespaceSelector else { return namespace == policyNamespace }
        return self.namespace(namespace, isSelectedBy: namespaceSelector)
    }

    /// A namespace the List lacks (one a pod names) has its name label only.
    public func namespace(_ namespace: String, isSelectedBy selector: LabelSelector) -> Bool {
        selector.matches(namespaceLabels[namespace] ?? ClusterNamespace(name: namespace).labels)
    }

    /// A peer without a pod selector names every pod of its namespaces.
    private static func podSelector(_ selector: LabelSelector?, matches pod: ClusterPod) -> Bool {
        selector?.matches(pod.labels) ?? true
    }

    /// The port spans one port entry stands for on `destination`: a number or range as
    /// written; a name resolved on the destination pod's container ports of that name
    /// and protocol (none: the entry matches nothing there); no port: every port.
    public static func spans(of port: PolicyPort, on destination: ClusterPod?) -> [PortSpan] {
        switch port.port {
        case nil: return [PortSpan(transport: port.transport, ports: nil)]
        case .number(let number): return [PortSpan(transport: port.transport, ports: PortRange(number))]
        case .range(let first, let last): return [PortSpan(transport: port.transport, ports: PortRange(first: first, last: last))]
        case .named(let name):
            let numbers = Set((destination?.ports ?? []).filter { $0.name == name && $0.transport == port.transport }.map(\.port))
            return numbers.sorted().map { PortSpan(transport: port.transport, ports: PortRange($0)) }
        }
    }

    /// One end of a connection: a pod of the cluster, the node a pod runs on (its
    /// kubelet's probes, and a pod's traffic to its node), or any other address.
    public enum Endpoint: Sendable, Hashable {
        case pod(ClusterPod)
        case ownNode
        case address(IPAddress)

        var pod: ClusterPod? { if case .pod(let pod) = self { pod } else { nil } }
    }

    /// Whether a connection from `source` to `destination`'s `port` over `transport`
    /// may start: the source's egress and the destination's ingress must both allow
    /// it (a side no policy isolates allows everything). `address` is the address the
    /// peer uses (a pod's, for ipBlock).
    public func allows(from source: Endpoint, sourceAddress: IPAddress, to destination: Endpoint,
                       destinationAddress: IPAddress, transport: TransportProtocol, port: UInt16) -> Bool {
        // Between a pod and its own node traffic is never policed (kubelet's probes).
        if source == .ownNode || destination == .ownNode { return true }
        if let pod = source.pod, pod.takesPartInPolicy {
            let isolating = policies(isolating: pod, .egress)
            if !isolating.isEmpty, !isolating.contains(where: { policy in
                policy.egress.contains { rule in
                    matches(rule, policyNamespace: policy.namespace, peer: destination, peerAddress: destinationAddress,
                            portsOn: destination.pod, transport: transport, port: port)
                }
            }) { return false }
        }
        if let pod = destination.pod, pod.takesPartInPolicy {
            let isolating = policies(isolating: pod, .ingress)
            if !isolating.isEmpty, !isolating.contains(where: { policy in
                policy.ingress.contains { rule in
                    matches(rule, policyNamespace: policy.namespace, peer: source, peerAddress: sourceAddress,
                            portsOn: pod, transport: transport, port: port)
                }
            }) { return false }
        }
        return true
    }

    /// A rule matches when one of its peers and one of its ports do (none listed: any).
    private func matches(_ rule: PolicyRule, policyNamespace: String, peer: Endpoint, peerAddress: IPAddress,
                         portsOn destination: ClusterPod?, transport: TransportProtocol, port: UInt16) -> Bool {
        let peerMatches = rule.peers.isEmpty || rule.peers.contains { entry in
            switch entry {
            case .ipBlock(let cidr, let except):
                return cidr.contains(peerAddress) && !except.contains { $0.contains(peerAddress) }
            case .pods:
                guard let pod = peer.pod else { return false }
                return pods(of: entry, policyNamespace: policyNamespace).contains(pod)
            }
        }
        let portMatches = rule.ports.isEmpty || rule.ports.contains { entry in
            Self.spans(of: entry, on: destination).contains { $0.contains(transport, port) }
        }
        return peerMatches && portMatches
    }
}

/// A protocol and its ports (nil: all of them) that a rule lets through.
public struct PortSpan: Sendable, Hashable {
    public var transport: TransportProtocol
    public var ports: PortRange?

    public init(transport: TransportProtocol, ports: PortRange?) {
        self.transport = transport
        self.ports = ports
    }

    public func contains(_ transport: TransportProtocol, _ port: UInt16) -> Bool {
        self.transport == transport && (ports.map { $0.first <= port && port <= $0.last } ?? true)
    }
}
