import PodNet

/// Which addresses of the node's pod CIDRs an attachment may get.
public enum AddressPool {
    /// Addresses no attachment may get: the config's own pods' and host ports' pod IPs
    /// (the network, gateway and broadcast addresses are never candidates at all).
    public static func reserved(by config: NodeConfig) -> Set<IPAddress> {
        Set(config.pods.flatMap(\.ips) + config.hostPorts.map(\.podIP))
    }

    /// The lowest free address of `cidr`: after the network address and the gateway
    /// (the bridge's, `firstHost`), before IPv4's broadcast address. The lowest free one,
    /// not the next in turn: the pod's MAC is derived from its addresses, so a reused
    /// address comes back with the MAC the node's neighbour entries already hold.
    public static func next(in cidr: IPNetwork, taken: Set<IPAddress>) -> IPAddress? {
        let hostBits = cidr.family.bitWidth - cidr.prefixLength
        // The last usable offset: IPv4 keeps its all-ones broadcast out.
        let last: UInt64
        switch cidr.family {
        case .ipv4: last = hostBits >= 2 ? (UInt64(1) << hostBits) - 2 : 0
        case .ipv6: last = hostBits >= 64 ? UInt64.max : (hostBits >= 2 ? (UInt64(1) << hostBits) - 1 : 0)
        }
        var offset: UInt64 = 2
        // At most taken.count + 1 steps: every step past a free address returns.
        while offset <= last {
            let candidate = cidr.address.adding(offset)
            if !taken.contains(candidate) { return candidate }
            offset += 1
        }
        return nil
    }

    /// The number of addresses an attachment can get in `cidr` (saturating).
    public static func capacity(of cidr: IPNetwork) -> UInt64 {
        let hostBits = cidr.family.bitWidth - cidr.prefixLength
        guard hostBits >= 2 else { return 0 }
        guard hostBits < 64 else { return UInt64.max }
        return (UInt64(1) << hostBits) - (cidr.family == .ipv4 ? 3 : 2)
    }
}
