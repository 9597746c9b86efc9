import Testing
import PodNet
import PodNetConfig

/// `--cluster`: the List `kubectl get nodes,namespaces,pods,networkpolicies -A -o json` prints.
@Suite struct ClusterListTests {
    static let config = """
        node:
          name: node-a
          podCIDRs: [10.244.1.0/24]
        cluster:
          podCIDRs: [10.244.0.0/16]
        """

    static func list(_ items: [String]) -> String {
        "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n" + items.joined(separator: ",\n") + "\n]}"
    }

    static let nodeA = """
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}, "spec": {"podCIDR": "10.244.1.0/24"},
         "status": {"addresses": [{"type": "InternalIP", "address": "198.18.0.10"}]}}
        """
    static let nodeB = """
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-b"}, "spec": {"podCIDRs": ["10.244.2.0/24"]},
         "status": {"addresses": [{"type": "InternalIP", "address": "198.18.0.11"}]}}
        """
    static let namespaceX = """
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"team": "a"}}}
        """
    static let podA = """
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "a", "namespace": "x", "labels": {"pod": "a"}},
         "spec": {"nodeName": "node-a", "containers": [
           {"name": "c80", "ports": [{"name": "serve-80-tcp", "containerPort": 80}, {"containerPort": 81, "protocol": "UDP"}]}]},
         "status": {"phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}, {"ip": "fd00::5"}]}}
        """
    static let podOld = """
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "old", "namespace": "x"},
         "spec": {"nodeName": "node-b", "hostNetwork": true}, "status": {"phase": "Succeeded", "podIP": "10.244.2.9"}}
        """

    static func policy(_ spec: String, name: String = "p") -> String {
        """
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "\(name)", "namespace": "x"},
         "spec": \(spec)}
        """
    }

    func load(_ items: [String], nodeList: String? = nil) throws(ConfigError) -> LoadedConfig {
        try ConfigLoader.load(configText: Self.config, configName: "node.yaml", nodeListText: nodeList,
                              nodeListName: nodeList == nil ? nil : "nodes.json",
                              clusterText: Self.list(items), clusterName: "cluster.json")
    }

    func problems(_ items: [String], nodeList: String? = nil) -> [String] {
        do {
            _ = try load(items, nodeList: nodeList)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func aMixedListGivesNodesNamespacesPodsAndPolicies() throws {
        let loaded = try load([Self.nodeA, Self.namespaceX, Self.podA, Self.nodeB, Self.podOld, Self.policy("""
            {"podSelector": {"matchLabels": {"pod": "a"}},
             "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": [{"key": "pod", "operator": "NotIn", "values": ["b"]}]}},
                                   {"ipBlock": {"cidr": "10.0.0.1/8", "except": ["10.1.0.0/16"]}}],
                          "ports": [{"port": "serve-80-tcp"}, {"protocol": "UDP", "port": 81, "endPort": 90}, {"protocol": "SCTP"}]}]}
            """)])
        // The Node items are what --nodes would give.
        #expect(loaded.config.node.podCIDRs.map(\.description) == ["10.244.1.0/24"])
        #expect(loaded.config.peers.map(\.name) == ["node-b"])
        let cluster = try #require(loaded.cluster)
        #expect(cluster.namespaces == [ClusterNamespace(name: "x", labels: ["team": "a"])])
        #expect(cluster.namespaces[0].labels[ClusterNamespace.nameLabel] == "x")
        #expect(cluster.pods == [
            ClusterPod(namespace: "x", name: "a", labels: ["pod": "a"], nodeName: "node-a",
                       ips: [IPAddress("10.244.1.5")!, IPAddress("fd00::5")!], phase: .running,
                       ports: [ContainerPort(name: "serve-80-tcp", port: 80, transport: .tcp),
                               ContainerPort(name: nil, port: 81, transport: .udp)]),
            ClusterPod(namespace: "x", name: "old", nodeName: "node-b", hostNetwork: true,
                       ips: [IPAddress("10.244.2.9")!], phase: .succeeded),
        ])
        #expect(!cluster.pods[1].takesPartInPolicy && cluster.pods[0].takesPartInPolicy)
        #expect(cluster.policies == [NetworkPolicy(
            namespace: "x", name: "p", podSelector: LabelSelector(matchLabels: ["pod": "a"]),
            isolatesIngress: true, isolatesEgress: false,
            ingress: [PolicyRule(
                peers: [.pods(podSelector: LabelSelector(matchExpressions: [LabelRequirement(key: "pod", op: .notIn, values: ["b"])]),
                              namespaceSelector: .everything),
                        .ipBlock(cidr: try IPNetwork(parsing: "10.0.0.0/8"), except: [try IPNetwork(parsing: "10.1.0.0/16")])],
                ports: [PolicyPort(transport: .tcp, port: .named("serve-80-tcp")),
                        PolicyPort(transport: .udp, port: .range(81, 90)),
                        PolicyPort(transport: .sctp)])])])
    }

    @Test func policyTypesDefaultAsTheAPISays() throws {
        let loaded = try load([
            Self.policy(#"{"podSelector": {}}"#, name: "ingress-only"),
            Self.policy(#"{"podSelector": {}, "egress": [{}]}"#, name: "with-egress"),
            Self.policy(#"{"podSelector": {}, "policyTypes": ["Egress"]}"#, name: "deny-egress"),
            Self.policy(#"{"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]}"#, name: "both"),
        ])
        let types = try #require(loaded.cluster).policies.map { "\($0.name) \($0.isolatesIngress) \($0.isolatesEgress)" }
        #expect(types == ["ingress-only true false", "with-egress true true", "deny-egress false true", "both true true"])
        #expect(loaded.cluster?.policies[3].ingress == [PolicyRule()])
    }

    @Test func badPoliciesAreNamedByFileLineColumnAndPath() {
        #expect(problems([Self.policy("""
            {"podSelector": {"matchExpressions": [{"key": "pod", "operator": "Like", "values": ["a"]},
                                                  {"key": "pod", "operator": "In"}]},
             "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}, "podSelector": {}},
                                   {"ipBlock": {"cidr": "10.0.0/8"}},
                                   {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}],
                          "ports": [{"endPort": 90}, {"port": "http", "endPort": 90}, {"port": 91, "endPort": 90},
                                    {"protocol": "ICMP", "port": 1}]}],
             "policyTypes": ["Ingress", "Sideways"]}
            """)]) == [
            #"cluster.json:4:75: items[0].spec.podSelector.matchExpressions[0].operator: unknown operator "Like" (expected In, NotIn, Exists or DoesNotExist)"#,
            #"cluster.json:5:39: items[0].spec.podSelector.matchExpressions[1].values: In needs at least one value"#,
            #"cluster.json:6:36: items[0].spec.ingress[0].from[0].ipBlock: ipBlock cannot be combined with podSelector or namespaceSelector in one peer"#,
            #"cluster.json:7:45: items[0].spec.ingress[0].from[1].ipBlock.cidr: "10.0.0/8" is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.244.1.0/24)"#,
            #"cluster.json:8:70: items[0].spec.ingress[0].from[2].ipBlock.except[0]: 11.0.0.0/16 is not inside the block's cidr 10.0.0.0/8"#,
            #"cluster.json:9:37: items[0].spec.ingress[0].ports[0].endPort: endPort needs a numeric port"#,
            #"cluster.json:9:70: items[0].spec.ingress[0].ports[1].endPort: endPort cannot be used with a named port ("http")"#,
            #"cluster.json:9:99: items[0].spec.ingress[0].ports[2].endPort: endPort 90 is below port 91"#,
            #"cluster.json:10:38: items[0].spec.ingress[0].ports[3].protocol: unknown protocol "ICMP" (expected TCP, UDP or SCTP)"#,
            #"cluster.json:11:29: items[0].spec.policyTypes[1]: unknown policy type "Sideways" (expected Ingress or Egress)"#,
        ])
    }

    @Test func nodesComeFromOnePlaceOnly() {
        let nodeList = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": []}"
        #expect(problems([Self.namespaceX, Self.nodeA], nodeList: nodeList) == [
            "cluster.json:3:1: items[1]: a Node item, and --nodes gives the nodes too: give them in one place "
                + "(the cluster List's Node items, or --nodes)",
        ])
    }

    /// Pods are walked on the scanner, not built whole: what they say, and what is wrong
    /// with them, reads as it does for the items that are built (kind last, nulls absent,
    /// the last of a repeated key, a value of the wrong type named at its place).
    @Test func podsReadAsBuiltItemsAre() throws {
        let kindLast = """
            {"metadata": {"namespace": "x", "labels": {"pod": "k"}, "name": "k", "annotations": {"a": "b"}},
             "spec": {"nodeName": null, "containers": [{"image": "i", "ports": [{"containerPort": 80, "name": "web"}]},
                                                       {"ports": [{"containerPort": 53, "protocol": "UDP"}, "x", null]}]},
             "status": {"phase": "Pending", "podIPs": [], "podIP": "10.244.1.6", "conditions": [{"type": "Ready"}]},
             "status": {"phase": "Running", "podIPs": [{"ip": "10.244.1.7"}, {"ip": null}, 5]}, "kind": "Pod"}
            """
        let pods = try #require(load([kindLast]).cluster).pods
        #expect(pods == [ClusterPod(namespace: "x", name: "k", labels: ["pod": "k"], ips: [IPAddress("10.244.1.7")!],
                                    phase: .running, ports: [ContainerPort(name: "web", port: 80, transport: .tcp),
                                                             ContainerPort(name: nil, port: 53, transport: .udp)])])
        #expect(problems([#"{"kind": "Pod", "metadata": {"name": "a", "namespace": "x", "labels": {"pod": 1}}, "#
                          + #""spec": {"containers": "c", "hostNetwork": "no"}, "status": {"podIPs": {}, "podIP": "10.1"}}"#,
                          #"{"kind": "Pod", "metadata": "m"}"#]) == [
            #"cluster.json:2:79: items[0].metadata.labels.pod: expected a string, got a number (1)"#,
            #"cluster.json:2:107: items[0].spec.containers: expected a list, got a string ("c")"#,
            #"cluster.json:2:127: items[0].spec.hostNetwork: expected a boolean, got a string ("no")"#,
            "cluster.json:2:155: items[0].status.podIPs: expected a list, got an object",
            #"cluster.json:2:168: items[0].status.podIP: "10.1" is not an IP address"#,
            "cluster.json:3:29: items[1].metadata.name: required",
        ])
    }

    @Test func badPodsAndShapesAreNamed() {
        #expect(problems([#"{"kind": "Pod", "metadata": {"name": "a"}}"#,
                          #"{"kind": "Pod", "metadata": {"name": "b", "namespace": "x"}, "status": {"podIP": "10.1"}}"#,
                          #"{"kind": "Pod", "metadata": {"name": "c", "namespace": "x"}, "spec": {"containers": [{"ports": [{"containerPort": 0}]}]}}"#,
                          #"{"metadata": {"name": "d"}}"#]) == [
            "cluster.json:2:29: items[0].metadata.namespace: required (list with -A: every namespaced item carries its namespace)",
            #"cluster.json:3:82: items[1].status.podIP: "10.1" is not an IP address"#,
            "cluster.json:4:115: items[2].spec.containers[0].ports[0].containerPort: 0 is out of range (1..65535)",
            "cluster.json:5:1: items[3].kind: required",
        ])
        #expect(problems([#"{"kind": }"#]).first?.hasPrefix("cluster.json:2:10: JSON syntax error") == true)
    }

    /// A syntax error on a later line of a Pod item (the pod readers and the look-ahead for
    /// `kind` read copies of the scanner) is placed where it is, as in any other item.
    @Test func aSyntaxErrorInsideAPodIsPlacedOnItsOwnLine() {
        let escape = #""metadata": {"name": "p", "namespace": "d", "x": "\q"}}"#
        let inService = problems(["{\"kind\": \"Service\",\n " + escape])
        #expect(inService.first?.hasPrefix("cluster.json:3:52: JSON syntax error: bad escape") == true, "\(inService)")
        #expect(problems(["{\"kind\": \"Pod\",\n " + escape]) == inService)
        let beforeKind = problems([#"{"a": 1,"# + "\n" + #""x": "\q", "kind": "Pod"}"#])
        #expect(beforeKind.first?.hasPrefix("cluster.json:3:7: JSON syntax error: bad escape") == true, "\(beforeKind)")
    }
}
