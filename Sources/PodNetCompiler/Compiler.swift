import PodNet

/// NodeConfig -> DesiredState: podnet's iptables chains and jumps per family, the
/// bridge, its addresses, sysctls, routes to peers and pods.
///
/// The same config gives the same state: everything derived is sorted, and names
/// depend only on the config.
public enum Compiler {
    /// `cluster`: the namespaces, pods and NetworkPolicies to enforce for this node's pods
    /// (`--cluster`); without policies, no policy rule or set at all.
    public static func compile(_ config: NodeConfig, cluster: ClusterState? = nil) throws(CompileError) -> DesiredState {
        guard config.bridge.hairpinMode != .promiscuousBridge else {
            throw .unsupportedHairpinMode(config.bridge.hairpinMode)
        }
        var policy = PolicyRules(config: config, cluster: cluster)
        var tables: [TableState] = []
        for family in config.families {
            for table in self.tables(config, family: family, policy: &policy) {
                try TableChecker.check(table)
                tables.append(table)
            }
        }
        let routing = try routes(config)
        return DesiredState(
            tables: tables,
            bridge: bridge(config),
            addresses: config.node.podCIDRs.map { cidr in
                InterfaceAddress(interface: config.bridge.name, address: cidr.firstHost, prefixLength: cidr.prefixLength)
            },
            sysctls: sysctls(config),
            routes: routing.routes,
            nexthops: routing.nexthops,
            pods: try pods(config),
            ipsets: policy.map { Array($0.sets.values) } ?? [])
    }

    /// podnet's filter and nat tables for one family (none when it needs nothing there).
    static func tables(_ config: NodeConfig, family: IPFamily, policy: inout PolicyRules?) -> [TableState] {
        guard let podCIDR = config.nodePodCIDR(for: family) else { return [] }
        var nat = TableBuilder(family, .nat)
        var filter = TableBuilder(family, .filter)
        // Host ports first: their hairpin and localhost SNAT rules must see a packet
        // before the general pod masquerade does.
        HostPortRules.add(to: &nat, filter: &filter, config: config, podCIDR: podCIDR)
        MasqueradeRules.add(to: &nat, config: config, podCIDR: podCIDR)
        // Policy before forward-accept: it only drops, what it lets through is accepted there.
        policy?.add(to: &filter, family: family)
        ForwardRules.add(to: &filter, config: config, family: family)
        return [filter.build(), nat.build()].compactMap { $0 }
    }

    private static func bridge(_ config: NodeConfig) -> BridgeState {
        BridgeState(name: config.bridge.name,
                    mtu: config.bridge.mtu,
                    macAddress: InterfaceNaming.bridgeMAC(nodeName: config.node.name, bridgeName: config.bridge.name),
                    promiscuous: false,
                    hairpinPorts: config.bridge.hairpinMode == .hairpinVeth)
    }

    private static func sysctls(_ config: NodeConfig) -> [SysctlSetting] {
        var settings: [SysctlSetting] = []
        for family in config.families {
            switch family {
            case .ipv4:
                settings += [SysctlSetting(.ipv4Forwarding, "1"), SysctlSetting(.bridgeCallsIptables, "1")]
            case .ipv6:
                settings += [SysctlSetting(.ipv6Forwarding, "1"), SysctlSetting(.bridgeCallsIp6tables, "1")]
            }
        }
        // IPv4 host ports answer on 127.0.0.1 only if loopback sources may be routed
        // out of the bridge (HostPortRules guards the reverse direction). The bridge is
        // podnet's, so without them route_localnet is wanted off: on where an earlier
        // config had host ports, it would let pods reach the node's 127.0.0.1 unguarded.
        let routeLocalnet = SysctlKey.routeLocalnet(interface: config.bridge.name)
        let localhostHostPorts = config.families.contains(.ipv4) && config.hostPorts.contains { $0.family == .ipv4 }
        settings.append(SysctlSetting(routeLocalnet, localhostHostPorts ? routeLocalnet.openValue : routeLocalnet.closedValue))
        return settings
    }

    /// Each peer pod CIDR via the peer's node IP of its family, for the families this
    /// node's pods use (pods of a family the node lacks have nobody here to talk to), in
    /// the form `RouteForm` prefers for the family: through the peer's own nexthop (id
    /// from `NexthopIDs`, as if no other nexthop existed; apply moves ids others hold)
    /// or classic.
    private static func routes(_ config: NodeConfig) throws(CompileError) -> (routes: [RouteState], nexthops: [PeerNexthop]) {
        // Each family's routes apart, then IPv4's before IPv6's: in peer order within a
        // family they are often in address order already (pod CIDRs handed out as nodes
        // join), runs the sort of NodeState passes in one sweep, where alternating
        // families broke every run.
        var routing = PeerRouting(config: config)
        routing.reserve(peers: config.peers.count)
        for peer in config.peers { try routing.add(peer) }
        let ids = NexthopIDs.assign(routing.owners.map(\.owner), taken: [])
        return routing.finish(ids: ids)
    }

    private static func pods(_ config: NodeConfig) throws(CompileError) -> [PodAttachment] {
        let pods = config.pods.map { pod in
            let cidrs = pod.ips.sorted().compactMap { ip in
                config.nodePodCIDR(for: ip.family).map { (ip, $0) }
            }
            return PodAttachment(
                name: pod.name,
                netnsPath: pod.netnsPath,
                hostInterface: InterfaceNaming.hostInterface(podName: pod.name),
                podInterface: pod.interface,
                addresses: cidrs.map { ip, cidr in
                    InterfaceAddress(interface: pod.interface, address: ip, prefixLength: cidr.prefixLength)
                },
                gateways: cidrs.map { $0.1.firstHost },
                mtu: config.bridge.mtu,
                podMACAddress: InterfaceNaming.podMAC(addresses: pod.ips))
        }
        let byInterface = Dictionary(grouping: pods, by: \.hostInterface)
        if let name = byInterface.keys.sorted().first(where: { byInterface[$0]!.count > 1 }) {
            throw .hostInterfaceCollision(name: name, pods: byInterface[name]!.map(\.name).sorted())
        }
        return pods
    }
}
