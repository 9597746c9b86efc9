import PodNet
@testable import PodNetCompiler

/// NodeConfig values built directly, so that compiler tests do not depend on the loader.
enum TestConfigs {
    static func ip(_ text: String) -> IPAddress { IPAddress(text)! }
    static func net(_ text: String) -> IPNetwork { try! IPNetwork(parsing: text) }

    static let clusterV4 = net("10.244.0.0/16")
    static let clusterV6 = net("fd00:10:244::/56")
    static let nodeV4 = net("10.244.1.0/24")
    static let nodeV6 = net("fd00:10:244:1::/64")

    /// node-a with the given families' pod CIDRs, every optional part empty.
    static func node(_ families: [IPFamily] = [.ipv4, .ipv6], masquerade: Bool = true, forwardAccept: Bool = true,
                     hairpin: HairpinMode = .hairpinVeth, nonMasquerade: [IPNetwork]? = nil,
                     peers: [Peer] = [], hostPorts: [HostPortMapping] = [], pods: [PodSpec] = []) -> NodeConfig {
        NodeConfig(
            node: NodeIdentity(name: "node-a",
                               podCIDRs: families.map { $0 == .ipv4 ? nodeV4 : nodeV6 }),
            cluster: ClusterNetwork(podCIDRs: families.map { $0 == .ipv4 ? clusterV4 : clusterV6 },
                                    nonMasqueradeCIDRs: nonMasquerade),
            bridge: BridgeConfig(hairpinMode: hairpin),
            masquerade: masquerade,
            forwardAccept: forwardAccept,
            peers: peers,
            hostPorts: hostPorts,
            pods: pods)
    }

    static let peerB = Peer(name: "node-b", nodeIPs: [ip("198.18.0.11"), ip("2001:db8:56::11")],
                            podCIDRs: [net("10.244.2.0/24"), net("fd00:10:244:2::/64")])
    static let peerC = Peer(name: "node-c", nodeIPs: [ip("198.18.0.12"), ip("2001:db8:56::12")],
                            podCIDRs: [net("10.244.3.0/24"), net("fd00:10:244:3::/64")])
}

extension DesiredState {
    /// A table as iptables-save would print it (chain declarations, jumps, rules); empty when absent.
    func saveLines(_ family: IPFamily, _ table: TableName) -> [String] {
        self.table(TableID(family, table)).map(StateRenderer.saveLines) ?? []
    }
}
