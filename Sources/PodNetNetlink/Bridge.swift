import PodNet

extension Netlink {
    /// Creates podnet's bridge:
    /// `ip link add TEMPORARY mtu N address MAC type bridge`, then
    /// `ip link set TEMPORARY name NAME alias "podnet: managed bridge" promisc on|off up`.
    /// The alias is podnet's ownership marker; the kernel ignores it on creation, so the
    /// bridge exists under its temporary name until one message names and marks it (a
    /// run killed in between leaves a link the next one recognises: `UnfinishedLink`).
    /// When that message is refused (the name is taken), the bridge is deleted again.
    @discardableResult
    public func createBridge(_ bridge: BridgeState, mtu: Int) throws(NetlinkOperationError) -> Link {
        let temporary = UnfinishedLink.temporaryName(for: bridge.name)
        try attempt(IpCommandText.addBridge(bridge, mtu: String(mtu))) { () throws(NetlinkError) in
            try perform(LinkMessages.createBridge(name: temporary, mtu: mtu, macAddress: bridge.macAddress))
        }
        let created = try requireLink(named: temporary)
        do {
            try setLink(created, LinkChanges(name: bridge.name, alias: BridgeState.ownershipAlias, up: true,
                                             promiscuous: bridge.promiscuous))
            return try requireLink(named: bridge.name)
        } catch {
            try? deleteLink(created)
            throw error
        }
    }

    /// podnet's bridge (`ip -d link show dev NAME`): nil when no link has that
    /// name; an error when the link is not a bridge or not marked as podnet's
    /// (it is then never changed).
    public func ownedBridge(named name: String) throws(NetlinkOperationError) -> Link? {
        guard let link = try attempt("ip -d link show dev \(name)", { () throws(NetlinkError) in try self.link(named: name) })
        else { return nil }
        guard link.kind == "bridge" else { throw .notABridge(name: name, kind: link.kind) }
        guard link.alias == BridgeState.ownershipAlias else { throw .bridgeNotOwned(name: name, alias: link.alias) }
        return link
    }

    /// The link named `name` as observation reports it (podnet's or not, a bridge
    /// or not), with its bridge ports; nil when there is none.
    /// `ip -d link show dev NAME` and `ip -d link show master NAME`.
    public func observeBridge(named name: String) throws(NetlinkOperationError) -> ObservedBridge? {
        try attempt("ip -d link show dev \(name)") { () throws(NetlinkError) -> ObservedBridge? in
            guard let link = try link(named: name) else { return nil }
            let ports = link.kind == "bridge" ? try bridgePorts(of: link) : []
            return ObservedBridge(
                name: link.name, isBridge: link.kind == "bridge",
                ownedByPodnet: link.alias == BridgeState.ownershipAlias, mtu: link.mtu,
                // Only a link without a hardware address (a tun, say) lacks one: zeros, as `ip` prints.
                macAddress: link.macAddress ?? MACAddress(bytes: [0, 0, 0, 0, 0, 0]),
                promiscuous: link.isPromiscuous, up: link.isUp,
                ports: ports.map { BridgePort(name: $0.name, hairpin: $0.hairpin ?? false) })
        }
    }

    /// The links enslaved to `bridge` (`ip -d link show master NAME`).
    public func bridgePorts(of bridge: Link) throws(NetlinkError) -> [Link] {
        try links().filter { $0.masterIndex == bridge.index }
    }

    /// The bridge's addresses podnet compares with what it wants
    /// (`ip addr show dev NAME scope global`): the kernel's own IPv6 link-local
    /// address is left out.
    public func bridgeAddresses(of bridge: Link) throws(NetlinkError) -> [InterfaceAddress] {
        try addresses(of: bridge).filter { !$0.isLinkLocal }.map {
            InterfaceAddress(interface: bridge.name, address: $0.address, prefixLength: $0.prefixLength)
        }.sorted()
    }

    /// `ip link del NAME`, only for podnet's own bridge (teardown).
    public func deleteBridge(named name: String) throws(NetlinkOperationError) {
        guard let bridge = try ownedBridge(named: name) else { return }
        try deleteLink(bridge)
    }

    /// kubenet's automatic MTU: the smallest MTU of the up, non-loopback links
    /// podnet did not make (`ip link show up`), else `MTUSetting.fallback`.
    public func automaticMTU() throws(NetlinkError) -> Int {
        try links().filter { $0.isUp && !$0.isLoopback && !PodMarker.isPodnets($0.alias) }
            .map(\.mtu).min() ?? MTUSetting.fallback
    }

    func requireLink(named name: String) throws(NetlinkOperationError) -> Link {
        guard let link = try attempt("ip link show dev \(name)", { () throws(NetlinkError) in try self.link(named: name) })
        else { throw .linkMissing(name: name, namespace: namespace) }
        return link
    }
}
