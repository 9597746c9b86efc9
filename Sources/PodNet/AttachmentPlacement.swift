/// The addresses podnet's CNI plugin gave the pods of Kubernetes on this node, by pod:
/// the kubelet reports a pod's address in its status only a while after ADD returned
/// it (at its next sync, often a second later), and the pod's containers are running by
/// then. Until the report, a pod the List has without an address takes that of the
/// attachment serving it, so that its policies hold it and it need not wait
/// (`PolicyWait`) for the report. A pod the List gives an address keeps its own.
public struct AttachmentPlacement: Sendable, Hashable {
    public var node: String
    public var addresses: [KubernetesPodName: [IPAddress]]

    public init(node: String, addresses: [KubernetesPodName: [IPAddress]] = [:]) {
        self.node = node
        self.addresses = addresses
    }

    /// The node config's runtime attachments (`NodeConfig.including`) that serve a pod of Kubernetes.
    public init(_ config: NodeConfig) {
        var addresses: [KubernetesPodName: [IPAddress]] = [:]
        for pod in config.pods {
            if let name = pod.kubernetesPod, addresses[name] == nil { addresses[name] = pod.ips }
        }
        self.init(node: config.node.name, addresses: addresses)
    }

    /// `pod` with its attachment's addresses when the List gives it none: a pod of this
    /// node, in the pod network, not finished.
    public func place(_ pod: ClusterPod) -> ClusterPod {
        guard pod.ips.isEmpty, pod.nodeName == node, !pod.hostNetwork, pod.phase != .succeeded, pod.phase != .failed,
              let ips = addresses[KubernetesPodName(namespace: pod.namespace, name: pod.name)] else { return pod }
        var placed = pod
        placed.ips = ips
        return placed
    }

    /// The pod whose attachment holds `address`, if any.
    public func pod(holding address: IPAddress) -> KubernetesPodName? {
        addresses.first { $0.value.contains(address) }?.key
    }

    public func place(_ cluster: ClusterState) -> ClusterState {
        guard !addresses.isEmpty else { return cluster }
        var placed = cluster
        placed.pods = cluster.pods.map(place)
        return placed
    }
}
