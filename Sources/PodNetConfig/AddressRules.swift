import PodNet

/// Checks on addresses and networks that several parts of the config share.
enum AddressRules {
    /// What is wrong with `address` as a pod's address on this node: it must lie in
    /// the node's pod CIDR of its family and be neither the network address, the
    /// gateway (the bridge's own address, network + 1) nor, for IPv4, the broadcast
    /// address. `nodePodCIDRsComplete` false means a node pod CIDR was refused, so
    /// "outside" cannot be told.
    static func podAddressProblem(_ address: IPAddress, nodePodCIDRs: [IPNetwork],
                                  nodePodCIDRsComplete: Bool) -> String? {
        guard let network = nodePodCIDRs.first(where: { $0.family == address.family }) else {
            guard nodePodCIDRsComplete else { return nil }
            return "\(address) is outside the node's pod CIDRs (the node has no \(address.family.displayName) pod CIDR)"
        }
        guard network.contains(address) else {
            let shown = nodePodCIDRs.map(\.description).joined(separator: ", ")
            return "\(address) is outside the node's pod CIDRs (\(shown))"
        }
        if address == network.address {
            return "\(address) is the network address of the node's pod CIDR \(network)"
        }
        if address == network.firstHost {
            return "\(address) is the gateway (the bridge's address, the first address of \(network)); "
                + "pod addresses start at \(network.firstHost.adding(1))"
        }
        if address.family == .ipv4, network.prefixLength < 31,
           address == network.address.adding((UInt64(1) << UInt64(32 - network.prefixLength)) - 1) {
            return "\(address) is the broadcast address of the node's pod CIDR \(network)"
        }
        return nil
    }

    /// The longest prefix a node pod CIDR can have and still hold a pod beside the
    /// network address, the gateway and (IPv4) the broadcast address.
    static func longestNodePodPrefix(_ family: IPFamily) -> Int {
        family == .ipv4 ? 30 : 126
    }

    /// Reports every element past the first of its family: podnet keeps one pod CIDR,
    /// node IP or pod IP per family, as Kubernetes does.
    static func checkOnePerFamily<Value>(_ list: LocatedList<Value>, what: String, family: (Value) -> IPFamily,
                                         _ diagnostics: inout Diagnostics) {
        // Lists hold one or two items: compare each with the earlier ones, no table
        // (and no copy of an item unless for a message).
        let items = list.items
        for index in items.indices.dropFirst() {
            let itemFamily = family(items[index].value)
            guard let earlier = items[..<index].firstIndex(where: { family($0.value) == itemFamily }) else { continue }
            diagnostics.error(items[index].location, "a second \(itemFamily.displayName) \(what) "
                + "(\(reference(items[earlier].location, from: items[index].location)) is \(items[earlier].value)): "
                + "at most one per family")
        }
    }

    /// How to name another value in a message: its field path, with its file when
    /// that is another one.
    static func reference(_ other: SourceLocation, from here: SourceLocation) -> String {
        other.file == here.file ? other.fieldPath.description : "\(other.file) \(other.fieldPath)"
    }
}

extension IPFamily {
    var displayName: String { self == .ipv4 ? "IPv4" : "IPv6" }
}
