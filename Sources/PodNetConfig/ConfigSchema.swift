/// The keys of each mapping in the config file. Anything else is an unknown key.
enum RootKey: String, DocumentKey {
    case version, node, cluster, bridge, masquerade, forwardAccept
    case masqueradeMark, routeProtocol, routeTable
    case peers, hostPorts, pods
    static let expectation = "a mapping with node, cluster and optional settings (the config file's top level)"
}

enum NodeKey: String, DocumentKey {
    case name, podCIDRs
    static let expectation = "a mapping with name and podCIDRs"
}

enum ClusterKey: String, DocumentKey {
    case podCIDRs, nonMasqueradeCIDRs
    static let expectation = "a mapping with podCIDRs and nonMasqueradeCIDRs"
}

enum BridgeKey: String, DocumentKey {
    case name, mtu, hairpinMode
    static let expectation = "a mapping with name, mtu and hairpinMode"
}

enum PeerKey: String, DocumentKey {
    case name, nodeIPs, podCIDRs
    static let expectation = "a peer: a mapping with name, nodeIPs and podCIDRs"
}

enum HostPortKey: String, DocumentKey {
    case podIP, `protocol`, hostPort, containerPort, hostIP, pod
    static let expectation = "a host port: a mapping with podIP, protocol, hostPort, containerPort and optional hostIP and pod"
}

enum PodKey: String, DocumentKey {
    case name, netns, ips
    static let expectation = "a pod: a mapping with name, netns and ips"
}
