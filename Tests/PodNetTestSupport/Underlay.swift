/// The lab's underlay: a veth between a node's namespace and a second host's, eth0
/// at both ends, with the node at 198.18.0.10/24 and 2001:db8::10/64 and the other
/// host at .1 and ::1, so that peers' node IPs on 198.18.0.0/24 are on-link gateways.
public enum Underlay {
    public static func connect(_ node: TestNamespace, to upstream: TestNamespace) throws {
        // The peer is made under a unique name (the two ends cannot share one while in
        // the same namespace) and renamed once it is in the other.
        let veth = "pnv\(UInt16.random(in: 0...UInt16.max))"
        try runCommand(["ip", "-n", node.name, "link", "add", "eth0", "type", "veth", "peer", "name", veth,
                        "netns", upstream.name])
        try runCommand(["ip", "-n", upstream.name, "link", "set", veth, "name", "eth0"])
        for (namespace, v4, v6) in [(node, "198.18.0.10/24", "2001:db8::10/64"), (upstream, "198.18.0.1/24", "2001:db8::1/64")] {
            try runCommand(["ip", "-n", namespace.name, "addr", "add", v4, "dev", "eth0"])
            try runCommand(["ip", "-n", namespace.name, "addr", "add", v6, "dev", "eth0", "nodad"])
            try runCommand(["ip", "-n", namespace.name, "link", "set", "eth0", "up"])
        }
    }
}
