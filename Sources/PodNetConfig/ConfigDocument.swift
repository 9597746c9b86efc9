import PodNet

/// What the config file says, read field by field: each value already has its own
/// format checked (addresses, ranges, names) and keeps its location for the checks
/// that compare values with each other (`NodeConfigValidator`). A value that was
/// refused is absent, and its problem is already in the diagnostics.
struct ConfigDocument {
    var location: SourceLocation
    var nodeName: Located<String>?
    /// nil when the key is absent (the NodeList may give them).
    var nodePodCIDRs: LocatedList<IPNetwork>?
    var clusterPodCIDRs: LocatedList<IPNetwork>?
    var nonMasqueradeCIDRs: LocatedList<IPNetwork>?
    var bridgeName = BridgeConfig.defaultName
    var mtu: Located<MTUSetting>?
    var hairpinMode = HairpinMode.hairpinVeth
    var masquerade = true
    var forwardAccept = true
    var routeProtocol = NodeConfig.defaultRouteProtocol
    var routeTable = NodeConfig.mainRouteTable
    var peers: [PeerEntry] = []
    var hostPorts: [HostPortEntry] = []
    var pods: [PodEntry] = []

    static let supportedVersion: Int64 = 1

    init(root: DocumentNode, _ diagnostics: inout Diagnostics) {
        location = root.location
        guard let fields = root.fields(RootKey.self, &diagnostics) else { return }

        if let node = fields[.version], let version = node.integer(in: Int64.min...Int64.max, &diagnostics),
           version != Self.supportedVersion {
            diagnostics.error(node.location, "\(version) is not supported (this podnet reads version \(Self.supportedVersion))")
        }
        if let node = fields.required(.node, &diagnostics) { readNode(node, &diagnostics) }
        if let node = fields.required(.cluster, &diagnostics) { readCluster(node, &diagnostics) }
        if let node = fields[.bridge] { readBridge(node, &diagnostics) }
        if let value = fields[.masquerade]?.bool(&diagnostics) { masquerade = value }
        if let value = fields[.forwardAccept]?.bool(&diagnostics) { forwardAccept = value }
        if let node = fields[.masqueradeMark] {
            // Kept readable so that configs written for earlier podnets still load.
            diagnostics.warning(node.location, "is no longer used and can be removed: podnet masquerades hairpin "
                + "host-port traffic by its addresses, and no longer sets or matches a packet-mark bit")
        }
        if let node = fields[.routeProtocol] { readRouteProtocol(node, &diagnostics) }
        if let node = fields[.routeTable] { readRouteTable(node, &diagnostics) }
        if let node = fields[.peers] {
            peers = node.entries(expected: "a list of peers", &diagnostics) { PeerEntry(configNode: $0, &$1) } ?? []
        }
        if let node = fields[.hostPorts] {
            hostPorts = node.entries(expected: "a list of host ports", &diagnostics) { HostPortEntry($0, &$1) } ?? []
        }
        if let node = fields[.pods] {
            pods = node.entries(expected: "a list of pods", &diagnostics) { PodEntry($0, &$1) } ?? []
        }
    }

    private mutating func readNode(_ node: DocumentNode, _ diagnostics: inout Diagnostics) {
        guard let fields = node.fields(NodeKey.self, &diagnostics) else { return }
        nodeName = fields.required(.name, &diagnostics)?.objectName(&diagnostics)
        nodePodCIDRs = fields[.podCIDRs]?.networks(&diagnostics)
    }

    private mutating func readCluster(_ node: DocumentNode, _ diagnostics: inout Diagnostics) {
        guard let fields = node.fields(ClusterKey.self, &diagnostics) else { return }
        if let list = fields.required(.podCIDRs, &diagnostics) {
            clusterPodCIDRs = list.networks(&diagnostics)
            if clusterPodCIDRs?.isComplete == true, clusterPodCIDRs?.items.isEmpty == true {
                diagnostics.error(list.location, "at least one cluster pod CIDR is required")
            }
        }
        nonMasqueradeCIDRs = fields[.nonMasqueradeCIDRs]?.networks(&diagnostics)
    }

    private mutating func readBridge(_ node: DocumentNode, _ diagnostics: inout Diagnostics) {
        guard let fields = node.fields(BridgeKey.self, &diagnostics) else { return }
        if let nameNode = fields[.name], let name = nameNode.string(expected: "an interface name", &diagnostics) {
            if let problem = NameRules.interfaceNameProblem(name) {
                diagnostics.error(nameNode.location, problem)
            } else {
                bridgeName = name
            }
        }
        if let mtuNode = fields[.mtu] { mtu = mtuNode.mtu(&diagnostics).map { Located(value: $0, place: mtuNode.place) } }
        if let mode = fields[.hairpinMode]?.hairpinMode(&diagnostics) { hairpinMode = mode }
    }

    /// 0..4 are the kernel's own (unspec, redirect, kernel, boot, static): podnet
    /// removes every route with its protocol that it does not want, so it must not
    /// share one with routes it did not make.
    private mutating func readRouteProtocol(_ node: DocumentNode, _ diagnostics: inout Diagnostics) {
        guard let value = node.integer(in: 0...255, expected: "a route protocol number (5..255)", &diagnostics) else { return }
        guard value > 4 else {
            diagnostics.error(node.location, "\(value) is reserved by the kernel (0 unspec, 1 redirect, 2 kernel, 3 boot, "
                + "4 static): podnet removes the routes of its protocol that it does not want, so pick an unused number "
                + "in 5..255 (default \(NodeConfig.defaultRouteProtocol))")
            return
        }
        routeProtocol = UInt8(value)
    }

    /// 0 is "unspecified" and 255 the kernel's local table: neither can hold podnet's routes.
    private mutating func readRouteTable(_ node: DocumentNode, _ diagnostics: inout Diagnostics) {
        guard let value = node.integer(in: 1...Int64(UInt32.max), expected: "a routing table number", &diagnostics) else { return }
        guard value != 255 else {
            diagnostics.error(node.location, "255 is the kernel's local table; use 254 (main, the default) or a table of your own")
            return
        }
        routeTable = UInt32(value)
    }
}

/// A peer as read from the config file or from a NodeList item.
struct PeerEntry {
    /// Where a peer was described.
    enum Source {
        /// Written by the user in the config file.
        case configFile
        /// Reported by the cluster (`kubectl get nodes -o json`).
        case nodeList
    }

    var place: SourcePlace
    var location: SourceLocation { place.location }
    var source: Source
    var name: Located<String>?
    var nodeIPs: LocatedList<IPAddress>
    var podCIDRs: LocatedList<IPNetwork>

    init(nodeListItem location: SourceLocation, name: Located<String>?, nodeIPs: LocatedList<IPAddress>,
         podCIDRs: LocatedList<IPNetwork>) {
        place = .known(location)
        source = .nodeList
        self.name = name
        self.nodeIPs = nodeIPs
        self.podCIDRs = podCIDRs
    }

    init?(configNode node: DocumentNode, _ diagnostics: inout Diagnostics) {
        guard let fields = node.fields(PeerKey.self, &diagnostics) else { return nil }
        place = node.place
        source = .configFile
        name = fields.required(.name, &diagnostics)?.objectName(&diagnostics)
        nodeIPs = fields.required(.nodeIPs, &diagnostics)?.addresses(&diagnostics)
            ?? LocatedList(items: [], place: node.place, isComplete: false)
        podCIDRs = fields.required(.podCIDRs, &diagnostics)?.networks(&diagnostics)
            ?? LocatedList(items: [], place: node.place, isComplete: false)
    }
}

/// A hostPorts entry.
struct HostPortEntry {
    var place: SourcePlace
    var location: SourceLocation { place.location }
    var podIP: Located<IPAddress>?
    var transport = TransportProtocol.tcp
    var hostPort: Located<UInt16>?
    var containerPort: UInt16?
    var hostIP: Located<IPAddress>?
    var pod: Located<String>?

    init?(_ node: DocumentNode, _ diagnostics: inout Diagnostics) {
        guard let fields = node.fields(HostPortKey.self, &diagnostics) else { return nil }
        place = node.place
        podIP = fields.required(.podIP, &diagnostics)?.locatedAddress(&diagnostics)
        if let value = fields[.protocol]?.choice(TransportProtocol.self, &diagnostics) { transport = value }
        if let portNode = fields.required(.hostPort, &diagnostics) {
            hostPort = portNode.port(&diagnostics).map { Located(value: $0, place: portNode.place) }
        }
        containerPort = fields.required(.containerPort, &diagnostics)?.port(&diagnostics)
        hostIP = fields[.hostIP]?.locatedAddress(&diagnostics)
        pod = fields[.pod]?.objectName(&diagnostics)
    }
}

/// A pods entry.
struct PodEntry {
    var place: SourcePlace
    var location: SourceLocation { place.location }
    var name: Located<String>?
    var netnsPath: Located<String>?
    var ips: LocatedList<IPAddress>

    init?(_ node: DocumentNode, _ diagnostics: inout Diagnostics) {
        guard let fields = node.fields(PodKey.self, &diagnostics) else { return nil }
        place = node.place
        name = fields.required(.name, &diagnostics)?.objectName(&diagnostics)
        if let netnsNode = fields.required(.netns, &diagnostics),
           let text = netnsNode.string(expected: "a path or a network namespace name", &diagnostics) {
            switch NameRules.netnsPath(text) {
            case .success(let path): netnsPath = Located(value: path, place: netnsNode.place)
            case .failure(let problem): diagnostics.error(netnsNode.location, problem.description)
            }
        }
        ips = fields.required(.ips, &diagnostics)?.addresses(&diagnostics)
            ?? LocatedList(items: [], place: node.place, isComplete: false)
        if ips.isComplete, ips.items.isEmpty {
            diagnostics.error(ips.location, "a pod needs at least one IP")
        }
    }
}

private extension DocumentNode {
    /// A Kubernetes object name (node, peer, pod).
    func objectName(_ diagnostics: inout Diagnostics) -> Located<String>? {
        guard let name = string(expected: "a name", &diagnostics) else { return nil }
        if let problem = NameRules.dnsSubdomainProblem(name) {
            diagnostics.error(location, problem)
            return nil
        }
        return Located(value: name, place: place)
    }

    func networks(_ diagnostics: inout Diagnostics) -> LocatedList<IPNetwork> {
        list(of: "CIDR strings", &diagnostics) { $0.network(&$1) }
    }

    func addresses(_ diagnostics: inout Diagnostics) -> LocatedList<IPAddress> {
        list(of: "IP address strings", &diagnostics) { $0.ipAddress(&$1) }
    }

    func locatedAddress(_ diagnostics: inout Diagnostics) -> Located<IPAddress>? {
        ipAddress(&diagnostics).map { Located(value: $0, place: place) }
    }

    /// "auto" (or absent) is kubenet's rule, resolved at apply time.
    func mtu(_ diagnostics: inout Diagnostics) -> MTUSetting? {
        if case .scalar = tree[index].kind, tree.text(of: index, is: MTUSetting.automatic.description) {
            return .automatic
        }
        return integer(in: 68...65535, expected: "an MTU (68..65535) or \"auto\"", &diagnostics).map { .fixed(Int($0)) }
    }

    /// promiscuous-bridge is a known mode but refused: kubenet de-duplicated the
    /// frames a promiscuous bridge floods back with ebtables, which this kernel lacks,
    /// and podnet will not duplicate packets silently.
    func hairpinMode(_ diagnostics: inout Diagnostics) -> HairpinMode? {
        guard let mode = choice(HairpinMode.self, &diagnostics) else { return nil }
        if mode == .promiscuousBridge {
            diagnostics.error(location, "promiscuous-bridge is not supported: kubenet needed legacy ebtables rules to drop "
                + "the duplicate packets a promiscuous bridge delivers, and this kernel has no legacy ebtables; "
                + "use hairpin-veth (the default), which gives pods the same hairpin access without duplicates")
            return nil
        }
        return mode
    }
}
