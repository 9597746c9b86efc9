import PodNet

/// Names and addresses podnet derives for interfaces: stable for the same input,
/// so that a re-run finds what the previous run made.
enum InterfaceNaming {
    /// A locally administered unicast MAC from the node and bridge names. A bridge
    /// otherwise takes the lowest MAC of its ports, so the gateway's MAC would change
    /// as pods come and go and every pod's neighbour entry would go stale.
    static func bridgeMAC(nodeName: String, bridgeName: String) -> MACAddress {
        var bytes = Array(SHA256.digest("\(nodeName)/\(bridgeName)").prefix(6))
        bytes[0] = bytes[0] & 0xFE | 0x02
        return MACAddress(bytes: bytes)
    }

    /// A locally administered unicast MAC for a pod's eth0 from its addresses. A pod
    /// remade with the same addresses (a changed MTU, say) then answers with the same
    /// MAC, and the node's neighbour entries for its addresses do not go stale (kubenet's
    /// CNI bridge plugin sent a gratuitous ARP for the same reason).
    static func podMAC(addresses: [IPAddress]) -> MACAddress {
        var bytes = Array(SHA256.digest("pod/" + addresses.sorted().map(\.description).joined(separator: ",")).prefix(6))
        bytes[0] = bytes[0] & 0xFE | 0x02
        return MACAddress(bytes: bytes)
    }

    /// "veth" and 8 hex digits of sha256(pod name): 12 characters, within the kernel's
    /// 15, whatever the pod's name.
    static func hostInterface(podName: String) -> String {
        "veth" + SHA256.digest(podName).prefix(4).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }
}
