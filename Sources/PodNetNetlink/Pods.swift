#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNet
import PodNetSystem

/// A pod's interface as read inside its network namespace.
public struct PodInterfaceObservation: Sendable, Hashable {
    public var link: Link
    public var addresses: [InterfaceAddress]
    /// The gateways of the default routes in the main table, both families.
    public var gateways: [IPAddress]
    public var loopbackUp: Bool
}

extension Netlink {
    /// Attaches a pod, as kubenet's bridge plugin did, in an order that leaves no
    /// unrecognisable link at any point:
    /// `ip link add TEMPORARY mtu N type veth peer name eth0 mtu N netns POD`, inside
    /// the pod `ip link set lo up`, `ip addr add ADDR/PREFIX dev eth0 [nodad]`,
    /// `ip link set eth0 up`, `ip route add default via GATEWAY proto P`, then
    /// `ip link set TEMPORARY name HOST alias "podnet: pod DIGEST NAME" master BRIDGE up`
    /// (one message: a marked host end always has a complete pod side) and
    /// `ip link set HOST type bridge_slave hairpin on|off` (a separate message, since
    /// the port must be on the bridge first; a missing flag is drift the next plan sets).
    /// IPv6 addresses skip duplicate address detection so they work at once.
    /// On a failure after the veth exists, the host end is deleted again (its
    /// peer goes with it) so that no half-attached pod is left behind; a run killed
    /// before the rename leaves the host end under its temporary name (`UnfinishedLink`).
    public func attachPod(_ pod: PodAttachment, mtu: Int, bridge: Link, hairpin: Bool,
                          routeProtocol: UInt8) throws(NetlinkOperationError) {
        let podNamespace = NetworkNamespace(path: pod.netnsPath)
        let temporary = UnfinishedLink.temporaryName(for: pod.hostInterface)
        let create = IpCommandText.createVeth(pod, mtu: String(mtu))
        let namespaceFD = open(pod.netnsPath, O_RDONLY | O_CLOEXEC)
        guard namespaceFD >= 0 else {
            throw .failed(command: create, namespace: namespace,
                          .namespace(.open(path: pod.netnsPath, errno: errno)))
        }
        defer { close(namespaceFD) }
        try attempt(create) { () throws(NetlinkError) in
            try perform(LinkMessages.createVeth(name: temporary, peerName: pod.podInterface,
                                                mtu: mtu, peerNamespaceFD: namespaceFD, peerMACAddress: pod.podMACAddress))
        }
        let host = try requireLink(named: temporary)
        do {
            try configurePodSide(pod, in: podNamespace, routeProtocol: routeProtocol)
            try setLink(host, LinkChanges(name: pod.hostInterface, alias: PodMarker(pod).alias,
                                          masterIndex: bridge.index, up: true))
            var port = host
            port.name = pod.hostInterface
            try setHairpin(hairpin, port: port)
        } catch {
            try? deleteLink(host)
            throw error
        }
    }

    private func configurePodSide(_ pod: PodAttachment, in podNamespace: NetworkNamespace,
                                  routeProtocol: UInt8) throws(NetlinkOperationError) {
        let inPod: Netlink
        do {
            inPod = try Netlink(namespace: podNamespace)
        } catch {
            throw .failed(command: "ip netns exec \(pod.netnsPath)", namespace: podNamespace, error)
        }
        try inPod.setLink(try inPod.requireLink(named: "lo"), LinkChanges(up: true))
        let interface = try inPod.requireLink(named: pod.podInterface)
        for address in pod.addresses {
            try inPod.addAddress(address.address, prefixLength: address.prefixLength, to: interface,
                                 skipDuplicateDetection: address.family == .ipv6)
        }
        try inPod.setLink(interface, LinkChanges(up: true))
        for gateway in pod.gateways {
            let route = RouteState(destination: IPNetwork(network: .zero(gateway.family), prefixLength: 0),
                                   gateway: gateway, table: NodeConfig.mainRouteTable, proto: routeProtocol)
            try inPod.attempt("ip route add default via \(gateway) dev \(pod.podInterface) proto \(routeProtocol)") {
                () throws(NetlinkError) in
                try inPod.perform(RouteMessages.write(route, .add))
            }
        }
    }

    /// The pods podnet attached here, found by the marker on their host ends
    /// (`ip -d link show`, reading each alias).
    public func observePods() throws(NetlinkError) -> [ObservedPod] {
        try links().compactMap { link in
            PodMarker(alias: link.alias).map {
                ObservedPod(name: $0.podName, hostInterface: link.name, specDigest: $0.specDigest)
            }
        }.sorted { $0.name < $1.name }
    }

    /// Reads a pod's side back inside its namespace (`ip -n POD -d link show
    /// eth0`, `ip -n POD addr show eth0`, `ip -n POD route show default`).
    public static func observePodInterface(named interface: String = "eth0",
                                           in podNamespace: NetworkNamespace) throws(NetlinkOperationError)
        -> PodInterfaceObservation {
        let inPod: Netlink
        do {
            inPod = try Netlink(namespace: podNamespace)
        } catch {
            throw .failed(command: "ip netns exec \(podNamespace.path)", namespace: podNamespace, error)
        }
        let link = try inPod.requireLink(named: interface)
        let loopback = try inPod.requireLink(named: "lo")
        return try inPod.attempt("ip addr show dev \(interface); ip route show default") {
            () throws(NetlinkError) -> PodInterfaceObservation in
            let addresses = try inPod.addresses(of: link).filter { !$0.isLinkLocal }.map {
                InterfaceAddress(interface: interface, address: $0.address, prefixLength: $0.prefixLength)
            }
            var gateways: [IPAddress] = []
            for family in IPFamily.allCases {
                gateways += try inPod.routes(family: family, table: NodeConfig.mainRouteTable)
                    .filter { $0.destination.prefixLength == 0 }.compactMap(\.gateway)
            }
            return PodInterfaceObservation(link: link, addresses: addresses.sorted(), gateways: gateways,
                                           loopbackUp: loopback.isUp)
        }
    }

    /// `ip link del HOST`: the kernel deletes the pod's end with it. Only a link
    /// carrying podnet's pod marker is deleted.
    public func detachPod(hostInterface: String) throws(NetlinkOperationError) {
        guard let host = try attempt("ip link show dev \(hostInterface)", { () throws(NetlinkError) in
            try self.link(named: hostInterface)
        }) else { return }
        guard PodMarker(alias: host.alias) != nil else {
            throw .podInterfaceNotOwned(name: hostInterface, alias: host.alias)
        }
        try deleteLink(host)
    }
}
