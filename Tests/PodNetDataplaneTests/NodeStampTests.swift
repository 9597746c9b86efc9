import Testing
import PodNet
import PodNetCompiler
import PodNetConfig
@testable import PodNetDataplane

/// The node stamp's digest: what a CNI request compiles from the node config alone.
@Suite struct NodeStampTests {
    static func config(_ extra: String = "") throws -> NodeConfig {
        try ConfigLoader.load(configText: """
            node:
              name: node-a
              podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]
            cluster:
              podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
            pods:
              - {name: a, netns: pod-a, ips: [10.244.1.10, "fd00:10:244:1::10"]}
            \(extra)
            """, configName: "node.yaml").config
    }

    static let cluster = ClusterState(
        namespaces: [ClusterNamespace(name: "x")],
        pods: [ClusterPod(namespace: "x", name: "a", labels: ["app": "web"], nodeName: "node-a",
                          ips: [IPAddress("10.244.1.10")!, IPAddress("fd00:10:244:1::10")!], ports: [])],
        policies: [NetworkPolicy(namespace: "x", name: "deny", podSelector: LabelSelector(matchLabels: [:]),
                                 isolatesIngress: true, isolatesEgress: true)])

    /// A request compiles without the List; apply and watch record with it. The policy's
    /// chains, the jump to them and the sets (members included) are left out of both, so
    /// the ADD on a policy node recognises the node apply --cluster prepared.
    @Test func thePoliciesOfTheListAreNotPartOfTheDigest() throws {
        let config = try Self.config()
        let withoutList = try Compiler.compile(config)
        let withPolicies = try Compiler.compile(config, cluster: Self.cluster)
        #expect(withPolicies.tables != withoutList.tables && !withPolicies.ipsets.isEmpty, "the List adds chains and sets")
        #expect(NodeStamp.stateDigest(withPolicies) == NodeStamp.stateDigest(withoutList))
        // What the node config decides still counts: a host port changes the digest.
        let withHostPort = try Compiler.compile(try Self.config("""
            hostPorts:
              - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}
            """), cluster: Self.cluster)
        #expect(NodeStamp.stateDigest(withHostPort) != NodeStamp.stateDigest(withPolicies))
    }

    /// The source check's entries a CNI ADD adds are the ones a compile with the List
    /// puts in the sets for the same pod: the port with every address, the port with its own.
    @Test func anAddsSourceCheckEntriesAreTheCompilersOwn() throws {
        let desired = try Compiler.compile(try Self.config(), cluster: Self.cluster)
        let pod = try #require(desired.pods.first)
        for family in [IPFamily.ipv4, .ipv6] {
            let entries = PodSourceCheck.entries(port: pod.hostInterface, addresses: pod.addresses.map(\.address), family: family)
            #expect(entries.count == 2)
            for (set, entry) in entries {
                let found = try #require(desired.ipsets.first { $0.name == set })
                #expect(found.type == .hashNetIface && found.family == family)
                #expect(found.entries == [entry], "\(set): \(found.entries)")
            }
        }
    }
}
