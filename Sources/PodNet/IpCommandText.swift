/// The `ip` / `sysctl` command that corresponds to each link, address, route and
/// sysctl value, so a person can read (or replay) what podnet does.
public enum IpCommandText {
    public static func tableName(_ table: UInt32) -> String {
        switch table {
        case 254: return "main"
        case 255: return "local"
        case 253: return "default"
        default: return String(table)
        }
    }

    /// `ip route VERB DEST via GW proto N [table T]`.
    public static func route(_ verb: String, _ route: RouteState) -> String {
        let family = route.family == .ipv6 ? "-6 " : ""
        let table = route.table == NodeConfig.mainRouteTable ? "" : " table \(tableName(route.table))"
        return "ip \(family)route \(verb) \(route.destination) via \(route.gateway) proto \(route.proto)\(table)"
    }

    /// `ip addr VERB ADDR/LEN dev IF`.
    public static func address(_ verb: String, _ address: InterfaceAddress) -> String {
        "ip addr \(verb) \(address.address)/\(address.prefixLength) dev \(address.interface)"
    }

    public static func sysctl(_ key: SysctlKey, _ value: String) -> String {
        "sysctl -w \(key)=\(value)"
    }

    public static func createBridge(_ bridge: BridgeState, mtu: String) -> [String] {
        [
            "ip link add \(bridge.name) type bridge",
            "ip link set \(bridge.name) alias \"\(BridgeState.ownershipAlias)\"",
            "ip link set \(bridge.name) mtu \(mtu) address \(bridge.macAddress) promisc \(bridge.promiscuous ? "on" : "off") up",
        ]
    }

    public static func hairpin(port: String, _ on: Bool) -> String {
        "ip link set \(port) type bridge_slave hairpin \(on ? "on" : "off")"
    }

    public static func attachPod(_ pod: PodAttachment, bridge: String, mtu: String) -> [String] {
        var lines = [
            "ip link add \(pod.hostInterface) mtu \(mtu) type veth peer name \(pod.podInterface) netns \(pod.netnsPath)",
            "ip link set \(pod.hostInterface) master \(bridge) up",
        ]
        for address in pod.addresses {
            lines.append("ip -n \(pod.netnsPath) addr add \(address.address)/\(address.prefixLength) dev \(pod.podInterface)"
                         + (address.family == .ipv6 ? " nodad" : ""))
        }
        lines.append("ip -n \(pod.netnsPath) link set \(pod.podInterface) up")
        for gateway in pod.gateways {
            lines.append("ip -n \(pod.netnsPath) \(gateway.family == .ipv6 ? "-6 " : "")route add default via \(gateway)")
        }
        return lines
    }
}
