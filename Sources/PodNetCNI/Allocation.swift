#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNet
import PodNetConfig

/// One attachment podnet made for the runtime: its addresses (one per family of the
/// node's pod CIDRs), its host ports and where its interface lives. It is the only
/// state podnet keeps on disk: from it the node's desired state regains the pod, its
/// host-port rules and its addresses, and DEL and GC know what to release.
public struct Allocation: Sendable, Equatable {
    public var id: AttachmentID
    /// CNI_NETNS at ADD.
    public var netns: String
    public var addresses: [IPAddress]
    public var portMappings: [CNIPortMapping]
    /// Kubernetes' namespace/name from CNI_ARGS, for the rules' comments.
    public var podName: String?

    public init(id: AttachmentID, netns: String, addresses: [IPAddress], portMappings: [CNIPortMapping] = [],
                podName: String? = nil) {
        self.id = id
        self.netns = netns
        self.addresses = addresses.sorted()
        self.portMappings = portMappings
        self.podName = podName
    }

    /// The pod of Kubernetes whose policies this attachment waits for (`PolicyWait`):
    /// the one CNI_ARGS named, when the attachment is its primary interface (eth0, the
    /// kubelet's default network), the only one whose address the kubelet reports. Nil for
    /// a container Kubernetes did not make and for a secondary interface (Multus' net1),
    /// which would otherwise wait forever.
    public var waitingPod: KubernetesPodName? {
        id.ifname == PodAttachment.podInterfaceName ? podName.flatMap(KubernetesPodName.init) : nil
    }

    public var waitsForTheList: Bool { waitingPod != nil }

    /// Whether the container's network namespace is still there. One that is gone (the
    /// container ended without DEL) has nothing to attach to: the node's desired state
    /// leaves it out, host ports included, until DEL or GC releases it.
    public var namespaceExists: Bool { access(netns, F_OK) == 0 }

    /// The name of the pod in podnet's node model and on its host end's marker. The '/'
    /// keeps it apart from the config's pod names (DNS labels).
    public var modelName: String { "cni/\(id.containerID)/\(id.ifname)" }

    /// The host ports as the node config's `hostPorts` would give them: a mapping without
    /// hostIP serves every family the attachment has an address of (as the portmap
    /// plugin does), one with a hostIP only that family.
    public var hostPortMappings: [HostPortMapping] {
        portMappings.flatMap { mapping in
            addresses.filter { mapping.hostIP == nil || mapping.hostIP!.family == $0.family }.map { address in
                HostPortMapping(podIP: address, transport: mapping.transport, hostPort: mapping.hostPort,
                                containerPort: mapping.containerPort, hostIP: mapping.hostIP,
                                podName: podName ?? String(id.containerID.prefix(12)))
            }
        }
    }

    public var json: JSONValue {
        .object([
            "containerID": .string(id.containerID),
            "ifname": .string(id.ifname),
            "netns": .string(netns),
            "addresses": .array(addresses.map { .string($0.description) }),
            "portMappings": .array(portMappings.map(\.json)),
            "pod": podName.map(JSONValue.string),
        ])
    }

    /// Reads a record written by `json`; nil when it is not one.
    public init?(_ value: JSONValue) {
        guard let containerID = value["containerID"]?.stringValue, let ifname = value["ifname"]?.stringValue,
              let netns = value["netns"]?.stringValue, let addresses = value["addresses"]?.arrayValue else { return nil }
        let parsed = addresses.compactMap { $0.stringValue.flatMap(IPAddress.init) }
        guard parsed.count == addresses.count else { return nil }
        var mappings: [CNIPortMapping] = []
        for (index, entry) in (value["portMappings"]?.arrayValue ?? []).enumerated() {
            guard let mapping = try? CNIPortMapping(entry, path: "portMappings[\(index)]") else { return nil }
            mappings.append(mapping)
        }
        self.init(id: AttachmentID(containerID: containerID, ifname: ifname), netns: netns, addresses: parsed,
                  portMappings: mappings, podName: value["pod"]?.stringValue)
    }
}

extension NodeConfig {
    /// The node with the runtime's attachments as pods of its own (and their host ports
    /// beside the config's), so that the compiler, the diff and apply treat them as the
    /// config's: kept, repaired, shown, torn down.
    public func including(_ allocations: [Allocation]) -> NodeConfig {
        var config = self
        for allocation in allocations.sorted(by: { $0.id < $1.id }) {
            config.pods.append(PodSpec(name: allocation.modelName, netnsPath: allocation.netns,
                                       ips: allocation.addresses, interface: allocation.id.ifname,
                                       kubernetesPod: allocation.waitingPod))
            config.hostPorts += allocation.hostPortMappings
        }
        return config
    }
}
