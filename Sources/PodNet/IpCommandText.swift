/// The `ip` / `bridge` / `sysctl` command that corresponds to each link, address,
/// route, sysctl and pod, so that a person can read (or replay) what podnet does.
/// `podnet render` and the dry run both speak through these.
public enum IpCommandText {
    /// iproute2's names for the reserved tables (rt_tables), numbers otherwise.
    public static func tableName(_ table: UInt32) -> String {
        switch table {
        case 253: return "default"
        case 254: return "main"
        case 255: return "local"
        default: return String(table)
        }
    }

    /// `ip route VERB DEST via GW proto N [table T]`, or `... nhid ID ...` for a route
    /// through a nexthop object (the main table is iproute2's default).
    public static func route(_ verb: String, _ route: RouteState) -> String {
        // Bytes appended, then one String (TextBytes): a render or a plan of 5,000 peers
        // prints 10,000 of these.
        var line: [UInt8] = []
        line.reserveCapacity(96)
        line.appendUTF8("ip route ")
        line.appendUTF8(verb)
        line.appendUTF8(" ")
        line.appendUTF8(route.destination.description)
        switch route.via {
        case .gateway(let gateway):
            line.appendUTF8(" via ")
            line.appendUTF8(gateway.description)
        case .nexthop(let id):
            line.appendUTF8(" nhid ")
            line.appendDecimal(id)
        }
        line.appendUTF8(" proto ")
        line.appendDecimal(route.proto)
        if route.table != NodeConfig.mainRouteTable {
            line.appendUTF8(" table ")
            line.appendUTF8(tableName(route.table))
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// `ip nexthop VERB id N via GW dev LINK proto P`.
    public static func nexthop(_ verb: String, _ nexthop: NexthopState) -> String {
        self.nexthop(verb, id: nexthop.id, gateway: nexthop.gateway, link: nexthop.link.name, proto: nexthop.proto)
    }

    /// The render's form: the link is a fact of the node, found at apply time (`dev auto`,
    /// as the bridge's automatic MTU is `mtu auto`).
    public static func nexthop(_ verb: String, _ nexthop: PeerNexthop) -> String {
        self.nexthop(verb, id: nexthop.id, gateway: nexthop.gateway, link: "auto", proto: nexthop.proto)
    }

    private static func nexthop(_ verb: String, id: UInt32, gateway: IPAddress, link: String, proto: UInt8) -> String {
        var line: [UInt8] = []
        line.reserveCapacity(96)
        line.appendUTF8("ip nexthop ")
        line.appendUTF8(verb)
        line.appendUTF8(" id ")
        line.appendDecimal(id)
        line.appendUTF8(" via ")
        line.appendUTF8(gateway.description)
        line.appendUTF8(" dev ")
        line.appendUTF8(link)
        line.appendUTF8(" proto ")
        line.appendDecimal(proto)
        return String(decoding: line, as: UTF8.self)
    }

    /// `ip nexthop del id N` (the kernel deletes it by id alone), with what it was.
    public static func deleteNexthop(_ nexthop: NexthopState) -> String {
        "ip nexthop del id \(nexthop.id)   # via \(nexthop.gateway) dev \(nexthop.link.name)"
    }

    /// `ip addr VERB ADDR/LEN dev IF`; podnet adds IPv6 addresses without duplicate
    /// address detection (`nodad`), so they are usable at once.
    public static func address(_ verb: String, _ address: InterfaceAddress) -> String {
        let nodad = verb == "add" && address.family == .ipv6 ? " nodad" : ""
        return "ip addr \(verb) \(address.address)/\(address.prefixLength) dev \(address.interface)\(nodad)"
    }

    public static func sysctl(_ key: SysctlKey, _ value: String) -> String {
        "sysctl -w \(key)=\(value)"
    }

    /// The bridge as podnet makes it: under its temporary name, then named and marked
    /// in one message (see `UnfinishedLink`).
    public static func createBridge(_ bridge: BridgeState, mtu: String) -> [String] {
        [
            addBridge(bridge, mtu: mtu),
            "ip link set \(UnfinishedLink.temporaryName(for: bridge.name)) name \(bridge.name) "
                + "alias \"\(BridgeState.ownershipAlias)\" promisc \(onOff(bridge.promiscuous)) up",
        ]
    }

    /// The bridge's creation, under its temporary name.
    public static func addBridge(_ bridge: BridgeState, mtu: String) -> String {
        "ip link add \(UnfinishedLink.temporaryName(for: bridge.name)) mtu \(mtu) address \(bridge.macAddress) type bridge"
    }

    public static func hairpin(port: String, _ on: Bool) -> String {
        "bridge link set dev \(port) hairpin \(onOff(on))"
    }

    /// The pod's veth pair, created with its pod end already in the pod's namespace and
    /// its host end under its temporary name (see `UnfinishedLink`).
    public static func createVeth(_ pod: PodAttachment, mtu: String) -> String {
        let address = pod.podMACAddress.map { " address \($0)" } ?? ""
        return "ip link add \(UnfinishedLink.temporaryName(for: pod.hostInterface)) mtu \(mtu) type veth "
            + "peer name \(pod.podInterface) mtu \(mtu)\(address) netns \(pod.netnsPath)"
    }

    /// A pod's veth pair, its addresses and default routes, then its host end named,
    /// marked and put on the bridge in one message: a host end that carries the mark
    /// belongs to a pod whose side is complete.
    public static func attachPod(_ pod: PodAttachment, bridge: BridgeState?, mtu: String) -> [String] {
        // `ip -n` takes only names under /run/netns; nsenter takes any namespace path.
        let inPod = "nsenter --net=\(pod.netnsPath) "
        var lines = [createVeth(pod, mtu: mtu)]
        lines += pod.addresses.map { inPod + address("add", $0) }
        lines.append(inPod + "ip link set \(pod.podInterface) up")
        lines += pod.gateways.map { gateway in
            inPod + "ip \(gateway.family == .ipv6 ? "-6 " : "")route replace default via \(gateway) dev \(pod.podInterface)"
        }
        let finish = "ip link set \(UnfinishedLink.temporaryName(for: pod.hostInterface)) name \(pod.hostInterface) "
            + "alias \"\(PodMarker(pod).alias)\""
        if let bridge {
            lines.append(finish + " master \(bridge.name) up")
            lines.append(hairpin(port: pod.hostInterface, bridge.hairpinPorts))
        } else {
            lines.append(finish + " up")
        }
        return lines
    }

    static func onOff(_ value: Bool) -> String { value ? "on" : "off" }
}

