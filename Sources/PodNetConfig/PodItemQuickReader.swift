import PodNet

/// A Pod item as kubectl writes it, read straight into a `ClusterPod`: keys compared as
/// written, Strings made only of the values kept, and no field paths or positions, which
/// only a message needs. A cluster's pods are nearly all of its List, and nearly all of
/// them are fine. At anything short of that (a value of another type, a port out of
/// range, an address that is not one, a syntax error, a shape it does not expect) it
/// gives up, and `PodItemReader` reads the item again from its start and names the
/// problem: so a pod it does read is the one `PodItemReader` would have read.
struct PodItemQuickReader {
    private var scanner: JSONScanner
    private var labelSets: LabelSets

    private struct GiveUp: Error {}

    /// The pod at the scanner, the scanner then after it; nil, the scanner unmoved, when
    /// the item is one for `PodItemReader`. `labelSets` keeps the label sets read so far.
    static func pod(_ scanner: inout JSONScanner, labelSets: inout LabelSets) -> ClusterPod? {
        var reader = PodItemQuickReader(scanner: scanner, labelSets: labelSets)
        let pod = try? reader.pod()
        labelSets = reader.labelSets
        guard let pod else { return nil }
        scanner = reader.scanner
        return pod
    }

    /// The pod's values as its members give them (the last of a repeated key, null absent).
    private struct Found {
        var name: String?
        var namespace: String?
        var labels: Labels = [:]
        var nodeName: String?
        var hostNetwork = false
        var ports: [ContainerPort] = []
        var phase: PodPhase?
        var podIP: String?
        var podIPs: [IPAddress]?
    }

    private mutating func pod() throws -> ClusterPod {
        var found = Found()
        var sawMetadata = false
        try members { reader, key in
            switch key {
            case "metadata":
                sawMetadata = true
                (found.name, found.namespace, found.labels) = (nil, nil, [:])
                try reader.members { reader, key in
                    switch key {
                    case "name": found.name = try reader.string()
                    case "namespace": found.namespace = try reader.string()
                    case "labels": found.labels = try reader.labels()
                    default: try reader.scanner.skipValue()
                    }
                }
            case "spec":
                try reader.members { reader, key in
                    switch key {
                    case "nodeName": found.nodeName = try reader.string()
                    case "hostNetwork": found.hostNetwork = try reader.bool()
                    case "containers":
                        found.ports = []
                        try reader.elements { reader in
                            var containerPorts: [ContainerPort] = []
                            try reader.members { reader, key in
                                guard case "ports" = key else { return try reader.scanner.skipValue() }
                                containerPorts = []
                                try reader.elements { reader in containerPorts.append(try reader.port()) }
                            }
                            found.ports += containerPorts
                        }
                    default: try reader.scanner.skipValue()
                    }
                }
            case "status":
                try reader.members { reader, key in
                    switch key {
                    case "phase": found.phase = PodPhase(rawValue: try reader.string()) ?? .unknown
                    case "podIP": found.podIP = try reader.string()
                    case "podIPs":
                        var ips: [IPAddress] = []
                        try reader.elements { reader in
                            var ip: String?
                            try reader.members { reader, key in
                                if case "ip" = key { ip = try reader.string() } else { try reader.scanner.skipValue() }
                            }
                            if let ip { ips.append(try Self.address(ip)) }
                        }
                        found.podIPs = ips
                    default: try reader.scanner.skipValue()
                    }
                }
            default:
                try reader.scanner.skipValue()
            }
        }
        guard sawMetadata, let name = found.name, let namespace = found.namespace else { throw GiveUp() }
        // podIPs carries every family; podIP (the first of them) is all older servers give.
        let ips = try found.podIPs ?? found.podIP.map { [try Self.address($0)] } ?? []
        return ClusterPod(namespace: namespace, name: name, labels: found.labels, nodeName: found.nodeName,
                          hostNetwork: found.hostNetwork, ips: ips, phase: found.phase, ports: found.ports)
    }

    /// The members of the object here, null ones left out.
    private mutating func members(_ member: (inout PodItemQuickReader, JSONScanner.Key) throws -> Void) throws {
        guard try scanner.peekKind() == .object else { throw GiveUp() }
        try scanner.beginObject()
        while let key = try scanner.nextRawKey() {
            if try scanner.peekKind() == .null {
                try scanner.readNull()
            } else {
                try member(&self, key)
            }
        }
    }

    private mutating func elements(_ element: (inout PodItemQuickReader) throws -> Void) throws {
        guard try scanner.peekKind() == .array else { throw GiveUp() }
        try scanner.beginArray()
        while try scanner.nextElement() { try element(&self) }
    }

    private mutating func string() throws -> String {
        guard try scanner.peekKind() == .string else { throw GiveUp() }
        return try scanner.readString()
    }

    private mutating func bool() throws -> Bool {
        guard try scanner.peekKind() == .bool else { throw GiveUp() }
        return try scanner.readBool()
    }

    private mutating func labels() throws -> Labels {
        guard try scanner.peekKind() == .object else { throw GiveUp() }
        let start = scanner
        let text = try scanner.skipValueText()
        if let known = labelSets.labels(writtenAs: text) { return known }
        scanner = start
        // kubectl's pods carry a handful of labels: room for them up front.
        var labels = Labels(minimumCapacity: 8)
        try scanner.beginObject()
        while let key = try scanner.nextRawKey() { labels[key.text] = try string() }
        labelSets.add(labels, writtenAs: text)
        return labels
    }

    /// A container port with its number (one without is for `PodItemReader`).
    private mutating func port() throws -> ContainerPort {
        var number: UInt16?, transport = TransportProtocol.tcp, name: String?
        try members { reader, key in
            switch key {
            case "containerPort":
                guard try reader.scanner.peekKind() == .number, let value = Int(try reader.scanner.readNumberText()),
                      (1...65535).contains(value) else { throw GiveUp() }
                number = UInt16(value)
            case "protocol":
                guard let named = TransportProtocol(kubernetesName: try reader.string()) else { throw GiveUp() }
                transport = named
            case "name": name = try reader.string()
            default: try reader.scanner.skipValue()
            }
        }
        guard let number else { throw GiveUp() }
        return ContainerPort(name: name, port: number, transport: transport)
    }

    private static func address(_ text: String) throws -> IPAddress {
        guard let address = IPAddress(text) else { throw GiveUp() }
        return address
    }
}

/// The label sets of a List's pods by their text: the pods of one ReplicaSet carry the
/// same labels, which kubectl writes the same way, and they share one dictionary.
struct LabelSets {
    private var sets: [UInt64: [(text: [UInt8], labels: Labels)]] = [:]

    func labels(writtenAs text: UnsafeBufferPointer<UInt8>) -> Labels? {
        sets[Self.hash(text)]?.first { Self.same($0.text, text) }?.labels
    }

    mutating func add(_ labels: Labels, writtenAs text: UnsafeBufferPointer<UInt8>) {
        sets[Self.hash(text), default: []].append((Array(text), labels))
    }

    /// FNV-1a over the text eight bytes at a time (a pod's labels are a few lines).
    private static func hash(_ text: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var index = 0
        let raw = UnsafeRawBufferPointer(text)
        while index + 8 <= text.count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x100_0000_01B3
            index += 8
        }
        while index < text.count {
            hash = (hash ^ UInt64(text[index])) &* 0x100_0000_01B3
            index += 1
        }
        return hash
    }

    private static func same(_ kept: [UInt8], _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard kept.count == text.count else { return false }
        return kept.withUnsafeBytes { kept in
            let text = UnsafeRawBufferPointer(text)
            var index = 0
            while index + 8 <= text.count {
                guard kept.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        == text.loadUnaligned(fromByteOffset: index, as: UInt64.self) else { return false }
                index += 8
            }
            while index < text.count {
                guard kept[index] == text[index] else { return false }
                index += 1
            }
            return true
        }
    }
}
