/// DesiredState x ObservedNode -> Plan: the whole node's difference.
public enum NodeDiff {
    public static func plan(desired: DesiredState, observed: ObservedNode) -> Plan {
        var conflicts: [Conflict] = []

        let tableIDs = Set(desired.tables.map(\.id)).union(observed.tables.map(\.id)).sorted()
        let tables = tableIDs.compactMap { id in
            TableDiff.plan(desired: desired.table(id), observed: observed.table(id))
        }

        // Half-made links go first, whatever the config says: the run that left one may
        // have been making the very object this plan makes under the same temporary name.
        var links = sweep(observed.unfinishedLinks)
        var addresses: [AddressOperation] = []
        var pods: [PodOperation] = []
        // The bridge is podnet's or not there yet: what is on it (addresses, ports, its own sysctls) is podnet's.
        let bridgeUsable = observed.bridge.map { $0.isBridge && $0.ownedByPodnet } ?? true
        if let bridge = desired.bridge {
            let mtu = resolvedMTU(bridge.mtu, observed: observed)
            if let found = observed.bridge {
                if !found.isBridge {
                    conflicts.append(.bridgeNotABridge(name: found.name))
                } else if !found.ownedByPodnet {
                    conflicts.append(.bridgeNotOwned(name: found.name))
                } else {
                    links += bridgeEdits(bridge, mtu: mtu, found: found)
                }
            } else {
                links.append(.createBridge(bridge, mtu: mtu))
            }
            if bridgeUsable {
                addresses = addressEdits(desired: desired.addresses.filter { $0.interface == bridge.name },
                                         observed: observed.bridgeAddresses)
                pods = podEdits(desired: desired.pods, observed: observed.pods, mtu: mtu,
                                onBridge: Set(observed.bridge?.ports.map(\.name) ?? []))
                // Ports that attach in this run get their hairpin flag when they are made.
                links += hairpinEdits(bridge, ports: observed.bridge?.ports ?? [], detached: pods)
            }
        }

        let sysctls = desired.sysctls.compactMap { setting -> SysctlOperation? in
            guard setting.key.interface == nil || bridgeUsable else { return nil }
            let current = observed.sysctls[setting.key]
            return current == setting.value ? nil : SysctlOperation(key: setting.key, from: current, to: setting.value)
        }

        let fitted = RouteFitting.fit(routes: desired.routes, nexthops: desired.nexthops, to: observed.routes)
        let routes = RouteDiff.plan(desired: fitted, observed: observed.routes)
        conflicts += routes.conflicts.map(Conflict.route)

        var plan = Plan(tables: tables, links: links, addresses: addresses, sysctls: sysctls,
                        routes: routes.operations, nexthops: routes.nexthops, pods: pods, conflicts: conflicts)
        plan.ipsets = IPSetDiff.plan(desired: desired.ipsets, observed: observed.ipsets)
        return plan
    }

    /// Deletes the links an interrupted run left under temporary names.
    public static func sweep(_ unfinishedLinks: [String]) -> [LinkOperation] {
        unfinishedLinks.map { .deleteUnfinished(name: $0) }
    }

    public static func resolvedMTU(_ setting: MTUSetting, observed: ObservedNode) -> Int {
        switch setting {
        case .fixed(let value): return value
        case .automatic: return observed.automaticMTU
        }
    }

    static func bridgeEdits(_ bridge: BridgeState, mtu: Int, found: ObservedBridge) -> [LinkOperation] {
        var edits: [LinkOperation] = []
        if found.mtu != mtu { edits.append(.setMTU(link: bridge.name, from: found.mtu, to: mtu)) }
        if found.macAddress != bridge.macAddress {
            edits.append(.setMACAddress(link: bridge.name, from: found.macAddress, to: bridge.macAddress))
        }
        if found.promiscuous != bridge.promiscuous { edits.append(.setPromiscuous(link: bridge.name, bridge.promiscuous)) }
        if !found.up { edits.append(.setUp(link: bridge.name)) }
        return edits
    }

    static func hairpinEdits(_ bridge: BridgeState, ports: [BridgePort], detached: [PodOperation]) -> [LinkOperation] {
        let leaving = Set(detached.compactMap { operation -> String? in
            if case .detach(let pod) = operation { return pod.hostInterface }
            return nil
        })
        return ports.filter { $0.hairpin != bridge.hairpinPorts && !leaving.contains($0.name) }
            .map { .setHairpin(port: $0.name, bridge.hairpinPorts) }
    }

    /// The bridge is podnet's, so every address on it is too: unwanted ones go
    /// (as kubenet removed them), new ones are added before.
    static func addressEdits(desired: [InterfaceAddress], observed: [InterfaceAddress]) -> [AddressOperation] {
        let found = Set(observed), wanted = Set(desired)
        return desired.sorted().filter { !found.contains($0) }.map(AddressOperation.add)
            + observed.sorted().filter { !wanted.contains($0) }.map(AddressOperation.delete)
    }

    /// A pod whose host end is not a port of the bridge (`onBridge`: its ports) is
    /// attached again: after a change of `bridge.name` it is still on the old bridge.
    static func podEdits(desired: [PodAttachment], observed: [ObservedPod], mtu: Int,
                         onBridge: Set<String>) -> [PodOperation] {
        let wanted = Dictionary(desired.map { ($0.hostInterface, $0) }, uniquingKeysWith: { first, _ in first })
        var edits: [PodOperation] = []
        var present = Set<String>()
        for pod in observed {
            if let spec = wanted[pod.hostInterface], spec.specDigest == pod.specDigest, onBridge.contains(pod.hostInterface) {
                present.insert(pod.hostInterface)
            } else {
                edits.append(.detach(pod))
            }
        }
        for pod in desired where !present.contains(pod.hostInterface) {
            edits.append(.attach(pod, mtu: fixed(pod.mtu, else: mtu)))
        }
        return edits
    }

    private static func fixed(_ setting: MTUSetting, else fallback: Int) -> Int {
        if case .fixed(let value) = setting { return value }
        return fallback
    }
}

extension PodAttachment {
    /// A digest of everything the attachment is made from (FNV-1a 64), kept in the
    /// host end's marker so that a changed pod spec is seen without entering the pod.
    public var specDigest: String {
        FNV1a.hexDigest(([name, netnsPath, hostInterface, podInterface, mtu.description]
            + addresses.map { "\($0.address)/\($0.prefixLength)" } + gateways.map(\.description))
            .joined(separator: "|"))
    }
}
