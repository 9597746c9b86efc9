import PodNet

/// `kubectl get nodes,namespaces,pods,networkpolicies -A -o json`: a List whose items
/// are any mix of Node, Namespace, Pod and NetworkPolicy objects, read into the cluster
/// state podnet enforces policy from and the Node items `--nodes` would give.
struct ClusterList {
    /// The Node items, as a NodeList would hold them.
    var nodes = NodeList()
    var cluster = ClusterState()

    /// Reads the List; a syntax error ends the reading, every other problem is reported
    /// at its `items[N]....` path, line and column, and the item it is in is kept out.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, file: String, _ diagnostics: inout Diagnostics) -> ClusterList? {
        do {
            return read(try JSONField.root(of: bytes, file: file, keeping: shape), &diagnostics)
        } catch {
            diagnostics.error(SourceLocation(file: file, fieldPath: .root, line: error.line, column: error.column),
                              "JSON syntax error: \(error.message)")
            return nil
        }
    }

    /// What the readers of the items look at (of every kind: an item's `kind` may come
    /// after its `spec`); the rest of each item is only checked for syntax.
    static let shape = JSONShape.members(["items": .members([
        "kind": .whole,
        "metadata": .members(["name": .whole, "namespace": .whole, "labels": .whole]),
        // Pod, NetworkPolicy, Node.
        "spec": .members(["nodeName": .whole, "hostNetwork": .whole, "containers": .members(["ports": .whole]),
                          "podSelector": .whole, "policyTypes": .whole, "ingress": .whole, "egress": .whole,
                          "podCIDR": .whole, "podCIDRs": .whole]),
        // Pod, Node.
        "status": .members(["phase": .whole, "podIPs": .whole, "podIP": .whole, "addresses": .whole]),
    ])])

    private static func read(_ root: JSONField, _ diagnostics: inout Diagnostics) -> ClusterList? {
        guard case .object = root.value else {
            diagnostics.error(root.location, "expected a List object (the output of "
                              + "`kubectl get nodes,namespaces,pods,networkpolicies -A -o json`), got \(root.value.kindDescription)")
            return nil
        }
        guard let items = root.member("items") else {
            diagnostics.error(root.location.appending("items", keepingPosition: true),
                              "required (is this the output of `kubectl get ... -o json`?)")
            return nil
        }
        var list = ClusterList()
        var namespaces: [String: ClusterNamespace] = [:]
        for item in items.array(&diagnostics) ?? [] {
            guard item.object(&diagnostics) != nil else { continue }
            guard let kind = item.member("kind")?.string(&diagnostics) else {
                diagnostics.error(item.location.appending("kind", keepingPosition: true), "required")
                continue
            }
            let before = diagnostics.errorCount
            switch kind {
            case "Node":
                list.nodes.items.append(node(item, &diagnostics))
            case "Namespace":
                if let namespace = namespace(item, &diagnostics), diagnostics.errorCount == before {
                    namespaces[namespace.name] = namespace
                }
            case "Pod":
                if let pod = PodReader.pod(item, &diagnostics), diagnostics.errorCount == before { list.cluster.pods.append(pod) }
            case "NetworkPolicy":
                if let policy = NetworkPolicyReader.policy(item, &diagnostics), diagnostics.errorCount == before {
                    list.cluster.policies.append(policy)
                }
            default:
                diagnostics.warning(item.member("kind")!.location,
                                    "\(kind) is not read (podnet reads Node, Namespace, Pod and NetworkPolicy items): skipped")
            }
        }
        list.cluster.namespaces = namespaces.values.sorted { $0.name < $1.name }
        return list
    }

    /// The fields a NodeList item has, from a Node item.
    private static func node(_ item: JSONField, _ diagnostics: inout Diagnostics) -> NodeList.Item {
        var node = NodeList.Item(location: item.location)
        func located(_ field: JSONField) -> Located<String>? {
            field.string(&diagnostics).map { Located(value: $0, location: field.location) }
        }
        node.name = item.member("metadata")?.member("name").flatMap(located)
        if let spec = item.member("spec") {
            node.podCIDR = spec.member("podCIDR").flatMap(located)
            node.podCIDRs = (spec.member("podCIDRs")?.array(&diagnostics) ?? []).compactMap(located)
        }
        for entry in item.member("status")?.member("addresses")?.array(&diagnostics) ?? [] {
            node.addresses.append(NodeList.Address(type: entry.member("type")?.string(&diagnostics),
                                                   address: entry.member("address").flatMap(located)))
        }
        return node
    }

    private static func namespace(_ item: JSONField, _ diagnostics: inout Diagnostics) -> ClusterNamespace? {
        guard let (name, labels) = ObjectMeta.read(item, namespaced: false, &diagnostics) else { return nil }
        return ClusterNamespace(name: name.name, labels: labels)
    }
}

/// `metadata.namespace`, `metadata.name` and `metadata.labels` of an item.
enum ObjectMeta {
    struct Name {
        var namespace: String
        var name: String
    }

    static func read(_ item: JSONField, namespaced: Bool, _ diagnostics: inout Diagnostics) -> (Name, Labels)? {
        guard let metadata = item.member("metadata") else {
            diagnostics.error(item.location.appending("metadata", keepingPosition: true), "required")
            return nil
        }
        guard let name = metadata.member("name")?.string(&diagnostics) else {
            diagnostics.error(metadata.location.appending("name", keepingPosition: true), "required")
            return nil
        }
        var namespace = ""
        if namespaced {
            guard let found = metadata.member("namespace")?.string(&diagnostics) else {
                diagnostics.error(metadata.location.appending("namespace", keepingPosition: true),
                                  "required (list with -A: every namespaced item carries its namespace)")
                return nil
            }
            namespace = found
        }
        return (Name(namespace: namespace, name: name), metadata.member("labels")?.labels(&diagnostics) ?? [:])
    }
}

extension TransportProtocol {
    /// A protocol as the Kubernetes API writes it (`TCP`, `UDP`, `SCTP`); nil reports it.
    static func read(_ field: JSONField, _ diagnostics: inout Diagnostics) -> TransportProtocol? {
        guard let text = field.string(&diagnostics) else { return nil }
        guard let found = TransportProtocol.allCases.first(where: { $0.rawValue.uppercased() == text }) else {
            diagnostics.error(field.location, "unknown protocol \"\(text)\" (expected TCP, UDP or SCTP)")
            return nil
        }
        return found
    }
}

/// Pod items.
enum PodReader {
    static func pod(_ item: JSONField, _ diagnostics: inout Diagnostics) -> ClusterPod? {
        guard let (name, labels) = ObjectMeta.read(item, namespaced: true, &diagnostics) else { return nil }
        var pod = ClusterPod(namespace: name.namespace, name: name.name, labels: labels, phase: nil)
        if let spec = item.member("spec") {
            pod.nodeName = spec.member("nodeName")?.string(&diagnostics)
            pod.hostNetwork = spec.member("hostNetwork")?.bool(&diagnostics) ?? false
            for container in spec.member("containers")?.array(&diagnostics) ?? [] {
                for port in container.member("ports")?.array(&diagnostics) ?? [] {
                    guard let number = port.member("containerPort")?.port(&diagnostics) else { continue }
                    let transport = port.member("protocol").map { TransportProtocol.read($0, &diagnostics) } ?? .tcp
                    guard let transport else { continue }
                    pod.ports.append(ContainerPort(name: port.member("name")?.string(&diagnostics), port: number,
                                                   transport: transport))
                }
            }
        }
        if let status = item.member("status") {
            if let phase = status.member("phase"), let text = phase.string(&diagnostics) {
                pod.phase = PodPhase(rawValue: text) ?? .unknown
            }
            // podIPs carries every family; podIP (the first of them) is all older servers give.
            let entries = status.member("podIPs")?.array(&diagnostics)?.compactMap { $0.member("ip") }
                ?? status.member("podIP").map { [$0] } ?? []
            for entry in entries {
                guard let text = entry.string(&diagnostics) else { continue }
                guard let address = IPAddress(text) else {
                    diagnostics.error(entry.location, "\"\(text)\" is not an IP address")
                    continue
                }
                pod.ips.append(address)
            }
        }
        return pod
    }
}
