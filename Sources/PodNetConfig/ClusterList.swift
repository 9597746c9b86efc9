import PodNet

/// `kubectl get nodes,namespaces,pods,networkpolicies -A -o json`: a List whose items
/// are any mix of Node, Namespace, Pod and NetworkPolicy objects, read into the cluster
/// state podnet enforces policy from and the Node items `--nodes` would give.
struct ClusterList {
    /// The Node items, as a NodeList would hold them.
    var nodes = NodeList()
    var cluster = ClusterState()

    /// Reads the List; a syntax error ends the reading (and is then the only problem
    /// reported), every other problem is reported at its `items[N]....` path, line and
    /// column, and the item it is in is kept out.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, file: String, _ diagnostics: inout Diagnostics) -> ClusterList? {
        var reader = ClusterListReader(scanner: JSONScanner(bytes), file: file)
        return read(&reader, file: file, &diagnostics)
    }

    /// As `read`, with the second reader of `PodReadAhead` started at `readAheadOffset`
    /// whatever the List's size (tests): `readAhead` tells how many pods it gave.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, file: String, readAheadAt readAheadOffset: Int,
                     readAhead: inout Int, _ diagnostics: inout Diagnostics) -> ClusterList? {
        var reader = ClusterListReader(scanner: JSONScanner(bytes), file: file, forcedReadAhead: readAheadOffset)
        defer { readAhead = reader.podsReadAhead }
        return read(&reader, file: file, &diagnostics)
    }

    private static func read(_ reader: inout ClusterListReader, file: String, _ diagnostics: inout Diagnostics) -> ClusterList? {
        do {
            let list = try reader.list()
            diagnostics.append(reader.diagnostics)
            return list
        } catch {
            let (line, column) = reader.scanner.position(of: error.offset)
            diagnostics.error(SourceLocation(file: file, fieldPath: .root, line: line, column: column),
                              "JSON syntax error: \(error.message)")
            return nil
        }
    }

    /// What the readers of the items other than pods look at, one shape for every kind
    /// (an item whose `kind` the look-ahead did not find is built with it too); the rest
    /// of each item is only checked for syntax.
    static let itemShape = JSONShape.members([
        "kind": .whole,
        "metadata": .members(["name": .whole, "namespace": .whole, "labels": .whole]),
        // NetworkPolicy, Node.
        "spec": .members(["podSelector": .whole, "policyTypes": .whole, "ingress": .whole, "egress": .whole,
                          "podCIDR": .whole, "podCIDRs": .whole]),
        // Node.
        "status": .members(["addresses": .whole]),
    ])

    /// One item, other than a pod, read whole (as far as `itemShape` keeps it).
    mutating func add(_ item: JSONField, namespaces: inout [String: ClusterNamespace], _ diagnostics: inout Diagnostics) {
        guard item.object(&diagnostics) != nil else { return }
        guard let kind = item.member("kind")?.string(&diagnostics) else {
            diagnostics.error(item.location.appending("kind", keepingPosition: true), "required")
            return
        }
        let before = diagnostics.errorCount
        switch kind {
        case "Node":
            nodes.items.append(Self.node(item, &diagnostics))
        case "Namespace":
            if let namespace = Self.namespace(item, &diagnostics), diagnostics.errorCount == before {
                namespaces[namespace.name] = namespace
            }
        case "NetworkPolicy":
            if let policy = NetworkPolicyReader.policy(item, &diagnostics), diagnostics.errorCount == before {
                cluster.policies.append(policy)
            }
        default:
            diagnostics.warning(item.member("kind")!.location,
                                "\(kind) is not read (podnet reads Node, Namespace, Pod and NetworkPolicy items): skipped")
        }
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
        guard let found = TransportProtocol(kubernetesName: text) else {
            diagnostics.error(field.location, "unknown protocol \"\(text)\" (expected TCP, UDP or SCTP)")
            return nil
        }
        return found
    }

    init?(kubernetesName name: String) {
        guard let found = TransportProtocol.allCases.first(where: { $0.rawValue.uppercased() == name }) else { return nil }
        self = found
    }
}

/// The walk over the List: items are told apart by their `kind` (found first, the
/// scanner then back at the item's start); pods, nearly all of a cluster's items, are
/// read straight off the scanner (`PodItemQuickReader`, or `PodItemReader` for one with
/// a problem to name), the others built as far as `ClusterList.itemShape` keeps them and
/// read as fields.
struct ClusterListReader {
    var scanner: JSONScanner
    let file: String
    var diagnostics = Diagnostics()
    /// Where `PodReadAhead` starts instead of its guess (tests).
    var forcedReadAhead: Int?
    /// The pods `PodReadAhead` read and this reader took.
    private(set) var podsReadAhead = 0

    private mutating func field(_ path: FieldPath, keeping shape: JSONShape = .whole) throws(JSONScanner.SyntaxError) -> JSONField {
        try JSONField.read(&scanner, path: path, file: file, keeping: shape)
    }

    mutating func list() throws(JSONScanner.SyntaxError) -> ClusterList? {
        guard try scanner.peekKind() == .object else {
            let root = try field(.root)
            try scanner.expectEnd()
            diagnostics.error(root.location, "expected a List object (the output of "
                              + "`kubectl get nodes,namespaces,pods,networkpolicies -A -o json`), got \(root.value.kindDescription)")
            return nil
        }
        let (line, column) = scanner.position(of: scanner.offset)
        let rootLocation = SourceLocation(file: file, fieldPath: .root, line: line, column: column)
        var list = ClusterList()
        var namespaces: [String: ClusterNamespace] = [:]
        var sawItems = false
        try scanner.beginObject()
        while let key = try scanner.nextKey() {
            guard key == "items", try scanner.peekKind() != .null else {
                try scanner.skipValue()
                continue
            }
            // The last `items` counts, as a reader of the whole document would keep it.
            sawItems = true
            list = ClusterList()
            namespaces = [:]
            let path = FieldPath.root.appending("items")
            guard try scanner.peekKind() == .array else {
                _ = try field(path).array(&diagnostics)
                continue
            }
            try scanner.beginArray()
            var index = 0
            var labelSets = LabelSets()
            var readAhead: PodReadAhead?
            defer { _ = readAhead?.finish() }
            while try scanner.nextElement() {
                if index == 0 {
                    readAhead = PodReadAhead.start(scanner.bytes, firstItem: scanner.offset, at: forcedReadAhead)
                } else if let ahead = readAhead, scanner.offset >= ahead.offset {
                    // The second reader's pods count only if it started at this very item.
                    readAhead = nil
                    let (pods, end) = ahead.finish()
                    if scanner.offset == ahead.offset, let end {
                        list.cluster.pods += pods
                        podsReadAhead += pods.count
                        index += pods.count
                        scanner.adopt(end)
                        continue
                    }
                }
                if try Self.isPod(scanner) {
                    if let pod = PodItemQuickReader.pod(&scanner, labelSets: &labelSets) {
                        list.cluster.pods.append(pod)
                    } else {
                        var pods = PodItemReader(scanner: scanner, file: file)
                        let pod = try pods.pod(at: path.appending(index: index))
                        scanner = pods.scanner
                        diagnostics.append(pods.diagnostics)
                        if let pod { list.cluster.pods.append(pod) }
                    }
                } else {
                    list.add(try field(path.appending(index: index), keeping: ClusterList.itemShape), namespaces: &namespaces, &diagnostics)
                }
                index += 1
            }
        }
        try scanner.expectEnd()
        guard sawItems else {
            diagnostics.error(rootLocation.appending("items", keepingPosition: true),
                              "required (is this the output of `kubectl get ... -o json`?)")
            return nil
        }
        list.cluster.namespaces = namespaces.values.sorted { $0.name < $1.name }
        return list
    }

    /// Whether the item's `kind` is the string `Pod` (kubectl writes it second, after
    /// `apiVersion`), found by a look ahead: the scanner stays at the item.
    static func isPod(_ scanner: JSONScanner) throws(JSONScanner.SyntaxError) -> Bool {
        var ahead = scanner
        guard try ahead.peekKind() == .object else { return false }
        try ahead.beginObject()
        while let key = try ahead.nextRawKey() {
            guard case "kind" = key else {
                try ahead.skipValue()
                continue
            }
            guard try ahead.peekKind() == .string else { return false }
            return try ahead.readString() == "Pod"
        }
        return false
    }
}

/// A Pod item, walked on the scanner: only the values policy needs are built (as
/// fields, so that their messages are those of every other item), the rest of what
/// kubectl prints (annotations, env, probes, volumes, conditions, statuses) skipped.
/// As a reader of the whole item would, it takes the last of a repeated key and null
/// as absent.
struct PodItemReader {
    var scanner: JSONScanner
    let file: String
    var diagnostics = Diagnostics()

    private struct Port {
        var number: JSONField?
        var transport: JSONField?
        var name: JSONField?
    }

    private var location: (line: Int, column: Int) { scanner.position(of: scanner.offset) }

    private func at(_ path: FieldPath, _ position: (line: Int, column: Int)) -> SourceLocation {
        SourceLocation(file: file, fieldPath: path, line: position.line, column: position.column)
    }

    private mutating func field(_ path: FieldPath) throws(JSONScanner.SyntaxError) -> JSONField {
        try JSONField.read(&scanner, path: path, file: file)
    }

    /// The members of the object the scanner is at (false, the value skipped, when it is
    /// none): `member` is called at each member's value and must read or skip it.
    private mutating func members(_ member: (inout PodItemReader, String) throws(JSONScanner.SyntaxError) -> Void)
        throws(JSONScanner.SyntaxError) -> Bool {
        guard try scanner.peekKind() == .object else {
            try scanner.skipValue()
            return false
        }
        try scanner.beginObject()
        while let key = try scanner.nextKey() {
            if try scanner.peekKind() == .null {
                try scanner.skipValue()
            } else {
                try member(&self, key)
            }
        }
        return true
    }

    /// The elements of the list the scanner is at; another value is reported as a
    /// list's field would report it.
    private mutating func elements(at path: FieldPath, _ element: (inout PodItemReader, FieldPath) throws(JSONScanner.SyntaxError) -> Void)
        throws(JSONScanner.SyntaxError) {
        guard try scanner.peekKind() == .array else {
            _ = try field(path).array(&diagnostics)
            return
        }
        try scanner.beginArray()
        var index = 0
        while try scanner.nextElement() {
            try element(&self, path.appending(index: index))
            index += 1
        }
    }

    mutating func pod(at path: FieldPath) throws(JSONScanner.SyntaxError) -> ClusterPod? {
        let itemPosition = location
        var metadata: (position: (line: Int, column: Int), name: JSONField?, namespace: JSONField?, labels: JSONField?)?
        var nodeName: JSONField?, hostNetwork: JSONField?, phase: JSONField?, podIP: JSONField?
        var ports: [Port] = []
        var podIPs: [JSONField]?
        _ = try members { reader, key throws(JSONScanner.SyntaxError) in
            let keyPath = path.appending(key)
            switch key {
            case "metadata":
                var found = (position: reader.location, name: JSONField?.none, namespace: JSONField?.none, labels: JSONField?.none)
                _ = try reader.members { reader, key throws(JSONScanner.SyntaxError) in
                    switch key {
                    case "name": found.name = try reader.field(keyPath.appending(key))
                    case "namespace": found.namespace = try reader.field(keyPath.appending(key))
                    case "labels": found.labels = try reader.field(keyPath.appending(key))
                    default: try reader.scanner.skipValue()
                    }
                }
                metadata = found
            case "spec":
                _ = try reader.members { reader, key throws(JSONScanner.SyntaxError) in
                    switch key {
                    case "nodeName": nodeName = try reader.field(keyPath.appending(key))
                    case "hostNetwork": hostNetwork = try reader.field(keyPath.appending(key))
                    case "containers":
                        ports = []
                        try reader.elements(at: keyPath.appending(key)) { reader, containerPath throws(JSONScanner.SyntaxError) in
                            var containerPorts: [Port] = []
                            _ = try reader.members { reader, key throws(JSONScanner.SyntaxError) in
                                guard key == "ports" else { return try reader.scanner.skipValue() }
                                containerPorts = []
                                try reader.elements(at: containerPath.appending(key)) { reader, portPath throws(JSONScanner.SyntaxError) in
                                    var port = Port()
                                    if try reader.members({ reader, key throws(JSONScanner.SyntaxError) in
                                        switch key {
                                        case "containerPort": port.number = try reader.field(portPath.appending(key))
                                        case "protocol": port.transport = try reader.field(portPath.appending(key))
                                        case "name": port.name = try reader.field(portPath.appending(key))
                                        default: try reader.scanner.skipValue()
                                        }
                                    }) { containerPorts.append(port) }
                                }
                            }
                            ports += containerPorts
                        }
                    default: try reader.scanner.skipValue()
                    }
                }
            case "status":
                _ = try reader.members { reader, key throws(JSONScanner.SyntaxError) in
                    switch key {
                    case "phase": phase = try reader.field(keyPath.appending(key))
                    case "podIP": podIP = try reader.field(keyPath.appending(key))
                    case "podIPs":
                        var entries: [JSONField]?
                        if try reader.scanner.peekKind() == .array { entries = [] }
                        try reader.elements(at: keyPath.appending(key)) { reader, entryPath throws(JSONScanner.SyntaxError) in
                            var ip: JSONField?
                            _ = try reader.members { reader, key throws(JSONScanner.SyntaxError) in
                                if key == "ip" { ip = try reader.field(entryPath.appending(key)) } else { try reader.scanner.skipValue() }
                            }
                            if let ip { entries?.append(ip) }
                        }
                        podIPs = entries
                    default: try reader.scanner.skipValue()
                    }
                }
            default:
                try reader.scanner.skipValue()
            }
        }
        let pod = Self.pod(itemAt: at(path, itemPosition),
                           metadata: metadata.map { (at(path.appending("metadata"), $0.position), $0.name, $0.namespace, $0.labels) },
                           nodeName: nodeName, hostNetwork: hostNetwork, ports: ports, phase: phase, podIPs: podIPs, podIP: podIP,
                           &diagnostics)
        // A pod with any problem (this reader's diagnostics are its own) is kept out.
        return diagnostics.errorCount == 0 ? pod : nil
    }

    /// The pod from the values found, checked in the order (and with the messages) of
    /// the other items' readers.
    private static func pod(itemAt item: SourceLocation,
                            metadata: (location: SourceLocation, name: JSONField?, namespace: JSONField?, labels: JSONField?)?,
                            nodeName: JSONField?, hostNetwork: JSONField?, ports: [Port], phase: JSONField?,
                            podIPs: [JSONField]?, podIP: JSONField?, _ diagnostics: inout Diagnostics) -> ClusterPod? {
        guard let metadata else {
            diagnostics.error(item.appending("metadata", keepingPosition: true), "required")
            return nil
        }
        guard let name = metadata.name?.string(&diagnostics) else {
            diagnostics.error(metadata.location.appending("name", keepingPosition: true), "required")
            return nil
        }
        guard let namespace = metadata.namespace?.string(&diagnostics) else {
            diagnostics.error(metadata.location.appending("namespace", keepingPosition: true),
                              "required (list with -A: every namespaced item carries its namespace)")
            return nil
        }
        var pod = ClusterPod(namespace: namespace, name: name, labels: metadata.labels?.labels(&diagnostics) ?? [:], phase: nil)
        pod.nodeName = nodeName?.string(&diagnostics)
        pod.hostNetwork = hostNetwork?.bool(&diagnostics) ?? false
        for port in ports {
            guard let number = port.number?.port(&diagnostics) else { continue }
            let transport = port.transport.map { TransportProtocol.read($0, &diagnostics) } ?? .tcp
            guard let transport else { continue }
            pod.ports.append(ContainerPort(name: port.name?.string(&diagnostics), port: number, transport: transport))
        }
        if let phase, let text = phase.string(&diagnostics) {
            pod.phase = PodPhase(rawValue: text) ?? .unknown
        }
        // podIPs carries every family; podIP (the first of them) is all older servers give.
        for entry in podIPs ?? podIP.map { [$0] } ?? [] {
            guard let text = entry.string(&diagnostics) else { continue }
            guard let address = IPAddress(text) else {
                diagnostics.error(entry.location, "\"\(text)\" is not an IP address")
                continue
            }
            pod.ips.append(address)
        }
        return pod
    }
}
