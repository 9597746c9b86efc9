import PodNet

/// The checks that compare values with each other (containment, overlap,
/// duplicates, families), after the NodeList and the config file have been read,
/// and the construction of the `NodeConfig` when nothing is wrong.
struct NodeConfigValidator {
    private var diagnostics: Diagnostics
    private let document: ConfigDocument
    private let nodeList: NodeListInput

    /// Set by `resolveNodePodCIDRs`, from the config or the NodeList.
    private var nodePodCIDRs: LocatedList<IPNetwork>

    static func validate(_ document: ConfigDocument, nodeList: NodeListInput,
                         _ diagnostics: inout Diagnostics) -> NodeConfig? {
        var validator = NodeConfigValidator(diagnostics: diagnostics, document: document, nodeList: nodeList)
        let config = validator.run()
        diagnostics = validator.diagnostics
        return config
    }

    private init(diagnostics: Diagnostics, document: ConfigDocument, nodeList: NodeListInput) {
        self.diagnostics = diagnostics
        self.document = document
        self.nodeList = nodeList
        nodePodCIDRs = LocatedList(items: [], location: document.location, isComplete: false)
    }

    private mutating func run() -> NodeConfig? {
        resolveNodePodCIDRs()
        checkNodePodCIDRs()
        checkMTU()
        checkNonMasqueradeCIDRs()
        let peers = mergedPeers()
        checkPeers(peers)
        checkPods()
        let hostPorts = checkedHostPorts()

        guard diagnostics.errorCount == 0, let nodeName = document.nodeName,
              let clusterPodCIDRs = document.clusterPodCIDRs else { return nil }
        return NodeConfig(
            version: Int(ConfigDocument.supportedVersion),
            node: NodeIdentity(name: nodeName.value, podCIDRs: nodePodCIDRs.values),
            cluster: ClusterNetwork(podCIDRs: clusterPodCIDRs.values, nonMasqueradeCIDRs: document.nonMasqueradeCIDRs?.values),
            bridge: BridgeConfig(name: document.bridgeName, mtu: document.mtu?.value ?? .automatic,
                                 hairpinMode: document.hairpinMode),
            masquerade: document.masquerade,
            forwardAccept: document.forwardAccept,
            routeProtocol: document.routeProtocol,
            routeTable: document.routeTable,
            // Without errors, every name and path is present: a missing one was reported.
            peers: peers.indices.compactMap { index in
                let routed = Self.routedPodCIDRs(peers[index].podCIDRs, via: peers[index].nodeIPs)
                guard let name = peers[index].name?.value, !routed.isEmpty else { return nil }
                return Peer(name: name, nodeIPs: peers[index].nodeIPs.values, podCIDRs: routed)
            },
            hostPorts: hostPorts,
            pods: document.pods.compactMap { pod in
                guard let name = pod.name, let netns = pod.netnsPath else { return nil }
                return PodSpec(name: name.value, netnsPath: netns.value, ips: pod.ips.values)
            }
        )
    }

    // MARK: Node

    /// The node's pod CIDRs come from node.podCIDRs, or from the NodeList item named
    /// like the node; given in both, they must agree.
    private mutating func resolveNodePodCIDRs() {
        let fromConfig = document.nodePodCIDRs.flatMap { $0.items.isEmpty && $0.isComplete ? nil : $0 }
        let fromNodeList = nodeList.contents?.nodePodCIDRs
        switch (fromConfig, fromNodeList) {
        case (let config?, let list?):
            if config.isComplete, list.isComplete, Set(config.values) != Set(list.values) {
                diagnostics.error(config.location, "\(Self.show(config.values)) differ from the NodeList's "
                    + "\(AddressRules.reference(list.location, from: config.location)) \(Self.show(list.values))")
            }
            nodePodCIDRs = config
        case (let config?, nil):
            nodePodCIDRs = config
        case (nil, let list?):
            nodePodCIDRs = list
        case (nil, nil):
            guard let name = document.nodeName else { return }
            let place = SourceLocation(file: name.location.file, fieldPath: FieldPath.root.appending("node").appending("podCIDRs"),
                                       line: name.location.line, column: name.location.column)
            let source: String
            switch nodeList {
            case .absent: source = "give them here or through a NodeList (--nodes)"
            case .unusable: return
            case .read: source = "the NodeList has no pod CIDR for \(name.value) either"
            }
            diagnostics.error(place, "required: this node's pod CIDRs are unknown (\(source))")
        }
    }

    private mutating func checkNodePodCIDRs() {
        AddressRules.checkOnePerFamily(nodePodCIDRs, what: "pod CIDR", family: { $0.family }, &diagnostics)
        for cidr in nodePodCIDRs.items where cidr.value.prefixLength > AddressRules.longestNodePodPrefix(cidr.value.family) {
            diagnostics.error(cidr.location, "\(cidr.value) has no address left for a pod once the network address, "
                + "the gateway\(cidr.value.family == .ipv4 ? " and the broadcast address" : "") are taken "
                + "(use a /\(AddressRules.longestNodePodPrefix(cidr.value.family)) or shorter prefix)")
        }
        guard let cluster = document.clusterPodCIDRs, cluster.isComplete, !cluster.items.isEmpty else { return }
        for cidr in nodePodCIDRs.items where !cluster.values.contains(where: { $0.contains(cidr.value) }) {
            diagnostics.error(cidr.location, "\(cidr.value) is outside every cluster pod CIDR "
                + "(cluster.podCIDRs: \(Self.show(cluster.values)))")
        }
    }

    private var usesIPv6: Bool { nodePodCIDRs.values.contains { $0.family == .ipv6 } }

    /// IPv6 requires a link MTU of at least 1280 (RFC 8200).
    private mutating func checkMTU() {
        if let mtu = document.mtu, case .fixed(let value) = mtu.value, value < 1280, usesIPv6 {
            diagnostics.error(mtu.location, "\(value) is below 1280, the minimum MTU of IPv6, which this node uses")
        }
    }

    /// Not an error, since a user may want it, but pod-to-pod traffic between nodes
    /// then leaves with the node's address, which hides the source pod from
    /// NetworkPolicy and logs: kubenet's most reported masquerade surprise.
    private mutating func checkNonMasqueradeCIDRs() {
        guard document.masquerade, let exempt = document.nonMasqueradeCIDRs, exempt.isComplete,
              let cluster = document.clusterPodCIDRs else { return }
        for cidr in cluster.values where !exempt.values.contains(where: { $0.contains(cidr) }) {
            diagnostics.warning(exempt.location, "no entry covers cluster pod CIDR \(cidr): traffic from pods to pods "
                + "on other nodes in it will be masqueraded")
        }
    }

    // MARK: Peers

    /// The config's peers, then the NodeList's that the config does not name. A peer
    /// in both must say the same in both.
    private mutating func mergedPeers() -> [PeerEntry] {
        var peers = document.peers
        let listed = nodeList.contents?.peers ?? []
        // Peers by name only when a NodeList has some to merge.
        var byName: [String: PeerEntry] = [:]
        var names = UniqueValues<String>("peer name", capacity: peers.count + listed.count)
        for index in peers.indices {
            if let name = peers[index].name, names.insert(name, &diagnostics), !listed.isEmpty {
                byName[name.value] = peers[index]
            }
        }
        for peer in listed {
            guard let name = peer.name, let configured = byName[name.value] else {
                peers.append(peer)
                continue
            }
            guard configured.podCIDRs.isComplete, configured.nodeIPs.isComplete,
                  peer.podCIDRs.isComplete, peer.nodeIPs.isComplete else { continue }
            var differences: [String] = []
            if Set(configured.podCIDRs.values) != Set(peer.podCIDRs.values) {
                differences.append("podCIDRs \(Self.show(configured.podCIDRs.values)) here, \(Self.show(peer.podCIDRs.values)) there")
            }
            if Set(configured.nodeIPs.values) != Set(peer.nodeIPs.values) {
                differences.append("nodeIPs \(Self.show(configured.nodeIPs.values)) here, \(Self.show(peer.nodeIPs.values)) there")
            }
            if !differences.isEmpty {
                diagnostics.error(configured.location, "peer \(name.value) differs from the NodeList's "
                    + "\(AddressRules.reference(peer.location, from: configured.location)): \(differences.joined(separator: "; "))")
            }
        }
        return peers
    }

    private mutating func checkPeers(_ peers: [PeerEntry]) {
        let clusterCIDRs = document.clusterPodCIDRs.flatMap { $0.isComplete ? $0.values : nil }
        let nodeFamilies = Set(nodePodCIDRs.values.map(\.family))
        let nodeName = document.nodeName?.value
        // By index: a copy of each of 50,000 peers cost more than its checks.
        for index in peers.indices {
            checkPeer(peers[index], nodeName: nodeName, clusterCIDRs: clusterCIDRs, nodeFamilies: nodeFamilies)
        }
        checkOverlaps(peers)
    }

    private mutating func checkPeer(_ peer: borrowing PeerEntry, nodeName: String?, clusterCIDRs: [IPNetwork]?,
                                    nodeFamilies: Set<IPFamily>) {
        if peer.name?.value == nodeName, let name = peer.name {
            diagnostics.error(name.location, "\(name.value) is this node's name (node.name): a node is not its own peer")
        }
        if peer.podCIDRs.isComplete, peer.podCIDRs.items.isEmpty {
            diagnostics.error(peer.podCIDRs.location, "a peer needs at least one pod CIDR")
        }
        if let clusterCIDRs {
            // Items by index: a copy of each (with its place) cost more than the check.
            for index in peer.podCIDRs.items.indices
            where !clusterCIDRs.contains(where: { $0.contains(peer.podCIDRs.items[index].value) }) {
                let cidr = peer.podCIDRs.items[index]
                diagnostics.warning(cidr.location, "\(cidr.value) is outside every cluster pod CIDR: it is routed, "
                    + "but traffic to it is masqueraded and not accepted by the forward rules")
            }
        }
        AddressRules.checkOnePerFamily(peer.podCIDRs, what: "pod CIDR", family: { $0.family }, &diagnostics)
        AddressRules.checkOnePerFamily(peer.nodeIPs, what: "node IP", family: { $0.family }, &diagnostics)
        if peer.nodeIPs.isComplete { checkNodeIPFamilies(peer, nodeFamilies: nodeFamilies) }
    }

    /// A pod CIDR is routed via the peer's node IP of its family. Written in the config
    /// file, a pod CIDR without one is the user's mistake (a node IP left out) and an
    /// error. Reported by the cluster, it is common (a dual-stack node whose kubelet
    /// reports an InternalIP of one family) and not this node's to fix: refusing would
    /// take every route of the node down for one peer's report, so the peer keeps the
    /// routes it can have and the rest is a warning. A family this node does not use
    /// is routed nowhere anyway, and not worth one.
    private mutating func checkNodeIPFamilies(_ peer: borrowing PeerEntry, nodeFamilies: Set<IPFamily>) {
        for index in peer.podCIDRs.items.indices where Self.gateway(of: peer, peer.podCIDRs.items[index].value.family) == nil {
            let cidr = peer.podCIDRs.items[index]
            let family = cidr.value.family
            switch peer.source {
            case .configFile:
                diagnostics.error(peer.nodeIPs.location, "no \(family.displayName) node IP, but the peer has an "
                    + "\(family.displayName) pod CIDR to route through it")
            case .nodeList:
                guard nodeFamilies.contains(family) else { continue }
                let routes = peer.podCIDRs.values.compactMap { cidr in
                    nodeFamilies.contains(cidr.family) ? Self.gateway(of: peer, cidr.family).map { "\(cidr) via \($0)" } : nil
                }
                let kept = routes.isEmpty ? "skipped (no route to its pods)" : "routed: " + routes.joined(separator: ", ")
                diagnostics.warning(peer.nodeIPs.location, "node \(peer.name?.value ?? "(unnamed)") reports no "
                    + "\(family.displayName) \(NodeList.routedAddressType): its \(family.displayName) pod CIDR \(cidr.value) "
                    + "is not routed; \(kept)")
            }
        }
    }

    /// The node IP a pod CIDR of `family` is routed through: the peer's first of that
    /// family (a peer has one or two node IPs: no table).
    private static func gateway(of peer: borrowing PeerEntry, _ family: IPFamily) -> IPAddress? {
        peer.nodeIPs.items.firstIndex { $0.value.family == family }.map { peer.nodeIPs.items[$0].value }
    }

    /// The peer's pod CIDRs that have a node IP of their family to be routed through.
    private static func routedPodCIDRs(_ podCIDRs: LocatedList<IPNetwork>, via nodeIPs: LocatedList<IPAddress>) -> [IPNetwork] {
        var routed: [IPNetwork] = []
        routed.reserveCapacity(podCIDRs.items.count)
        for cidr in podCIDRs.items where nodeIPs.items.contains(where: { $0.value.family == cidr.value.family }) {
            routed.append(cidr.value)
        }
        return routed
    }

    /// Every pair of overlapping pod CIDRs among the node's and the peers', found in
    /// one sweep over the CIDRs sorted by address: a CIDR overlaps exactly the
    /// earlier ones that still contain its address.
    private mutating func checkOverlaps(_ peers: [PeerEntry]) {
        // Each CIDR as a bare network with where it was found: the peer's index (-1 for
        // this node's) and its place in that list, looked up only for a message.
        var networks: [IPNetwork] = nodePodCIDRs.values
        var found: [(peer: Int32, item: Int32)] = nodePodCIDRs.items.indices.map { (-1, Int32($0)) }
        let count = peers.reduce(networks.count) { $0 + $1.podCIDRs.items.count }
        networks.reserveCapacity(count)
        found.reserveCapacity(count)
        for peerIndex in peers.indices {
            for itemIndex in peers[peerIndex].podCIDRs.items.indices {
                networks.append(peers[peerIndex].podCIDRs.items[itemIndex].value)
                found.append((Int32(peerIndex), Int32(itemIndex)))
            }
        }
        func cidr(_ index: Int) -> Located<IPNetwork> {
            let (peer, item) = found[index]
            return peer < 0 ? nodePodCIDRs.items[Int(item)] : peers[Int(peer)].podCIDRs.items[Int(item)]
        }
        func ownerText(_ index: Int) -> String {
            let peer = found[index].peer
            guard peer >= 0 else { return "this node's pod CIDR" }
            return peers[Int(peer)].name.map { "\($0.value)'s pod CIDR" } ?? "a peer's pod CIDR"
        }
        // By address, then prefix length; input order breaks ties, so that the later of
        // two equal CIDRs is reported. (Sorted as plain integers: 100,000 of them for a
        // 50,000-peer node, IPv4's put before IPv6's first: peers' CIDRs often come in
        // address order within a family, runs the sort passes in one sweep.)
        let keys = networks.indices.map { index in
            let address = networks[index].address
            return OverlapOrder(family: address.family == .ipv4 ? 0 : 1, high: address.high, low: address.low,
                                prefixLength: UInt8(networks[index].prefixLength), index: Int32(index))
        }
        let order = (keys.filter { $0.family == 0 } + keys.filter { $0.family != 0 }).sorted().map { Int($0.index) }
        var open: [Int] = []
        for index in order {
            let current = networks[index]
            open.removeAll { !networks[$0].contains(current) }
            for other in open {
                // Reported at whichever came later in the input (node CIDRs come first).
                let (here, there) = other < index ? (index, other) : (other, index)
                let (later, earlier) = (cidr(here), cidr(there))
                diagnostics.error(later.location, "\(later.value) overlaps \(ownerText(there)) \(earlier.value) "
                    + "(\(AddressRules.reference(earlier.location, from: later.location)))")
            }
            open.append(index)
        }
    }

    /// Where a CIDR comes in the overlap sweep.
    private struct OverlapOrder: Comparable {
        var family: UInt8
        var high: UInt64
        var low: UInt64
        var prefixLength: UInt8
        var index: Int32

        static func < (lhs: OverlapOrder, rhs: OverlapOrder) -> Bool {
            if lhs.family != rhs.family { return lhs.family < rhs.family }
            if lhs.high != rhs.high { return lhs.high < rhs.high }
            if lhs.low != rhs.low { return lhs.low < rhs.low }
            if lhs.prefixLength != rhs.prefixLength { return lhs.prefixLength < rhs.prefixLength }
            return lhs.index < rhs.index
        }
    }

    // MARK: Pods and host ports

    private mutating func checkPods() {
        var names = UniqueValues<String>("pod name")
        // podnet gives a pod's interface the same name in every namespace, so two
        // pods cannot share one.
        var namespaces = UniqueValues<String>("network namespace")
        var addresses = UniqueValues<IPAddress>("pod IP")
        for pod in document.pods {
            if let name = pod.name { names.insert(name, &diagnostics) }
            if let netns = pod.netnsPath { namespaces.insert(netns, &diagnostics) }
            AddressRules.checkOnePerFamily(pod.ips, what: "pod IP", family: { $0.family }, &diagnostics)
            for ip in pod.ips.items {
                addresses.insert(ip, &diagnostics)
                checkPodAddress(ip)
            }
        }
    }

    private mutating func checkPodAddress(_ ip: Located<IPAddress>) {
        if let problem = AddressRules.podAddressProblem(ip.value, nodePodCIDRs: nodePodCIDRs.values,
                                                        nodePodCIDRsComplete: nodePodCIDRs.isComplete) {
            diagnostics.error(ip.location, problem)
        }
    }

    /// What makes two host ports the same listening socket. A mapping without hostIP
    /// takes the port on every local address of its family, so it conflicts with any
    /// mapping of that port, as Kubernetes' scheduler treats 0.0.0.0.
    private struct HostPortKey: Hashable {
        var family: IPFamily
        var transport: TransportProtocol
        var port: UInt16
    }

    /// The host port mappings, each with its pod's name: the entry's `pod`, else the
    /// name of the pods entry holding its podIP.
    private mutating func checkedHostPorts() -> [HostPortMapping] {
        var podByAddress: [IPAddress: Located<String>] = [:]
        for pod in document.pods {
            guard let name = pod.name else { continue }
            for ip in pod.ips.values where podByAddress[ip] == nil { podByAddress[ip] = name }
        }
        var taken: [HostPortKey: [(hostIP: IPAddress?, place: SourcePlace)]] = [:]
        var mappings: [HostPortMapping] = []
        taken.reserveCapacity(document.hostPorts.count)
        mappings.reserveCapacity(document.hostPorts.count)
        for entry in document.hostPorts {
            guard let podIP = entry.podIP else { continue }
            checkPodAddress(podIP)
            if let hostIP = entry.hostIP, hostIP.value.family != podIP.value.family {
                diagnostics.error(hostIP.location, "\(hostIP.value) is \(hostIP.value.family.displayName) but podIP "
                    + "\(podIP.value) is \(podIP.value.family.displayName): a host port forwards within one family")
            }
            var podName = entry.pod
            if let holder = podByAddress[podIP.value] {
                if let given = entry.pod, given.value != holder.value {
                    diagnostics.error(given.location, "\(given.value) is not the pod holding \(podIP.value) "
                        + "(\(AddressRules.reference(holder.location, from: given.location)) is \(holder.value))")
                }
                podName = podName ?? holder
            }
            guard let hostPort = entry.hostPort, let containerPort = entry.containerPort else { continue }
            let key = HostPortKey(family: podIP.value.family, transport: entry.transport, port: hostPort.value)
            let hostIP = entry.hostIP?.value
            if let clash = taken[key]?.first(where: { $0.hostIP == nil || hostIP == nil || $0.hostIP == hostIP }) {
                let describe = { (ip: IPAddress?) in ip.map { "on \($0)" } ?? "on every local \(key.family.displayName) address" }
                diagnostics.error(hostPort.location, "\(entry.transport.rawValue)/\(hostPort.value) \(describe(hostIP)) "
                    + "is already taken by \(AddressRules.reference(clash.place.location, from: hostPort.location)) "
                    + "(\(describe(clash.hostIP)))")
            }
            taken[key, default: []].append((hostIP, hostPort.place))

            let mapping = HostPortMapping(podIP: podIP.value, transport: entry.transport, hostPort: hostPort.value,
                                          containerPort: containerPort, hostIP: hostIP, podName: podName?.value)
            if mapping.comment.utf8.count > HostPortMapping.maxCommentBytes, let podName {
                diagnostics.error(podName.location, "the pod name makes this host port's rule comment "
                    + "\(mapping.comment.utf8.count) bytes long, over the kernel's limit of "
                    + "\(HostPortMapping.maxCommentBytes); use a shorter pod name")
            }
            mappings.append(mapping)
        }
        return mappings
    }

    private static func show<Value: CustomStringConvertible>(_ values: [Value]) -> String {
        "[" + values.map(\.description).joined(separator: ", ") + "]"
    }
}
