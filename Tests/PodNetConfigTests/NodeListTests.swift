import Testing
import PodNet
import PodNetConfig

@Suite struct NodeListTests {
    /// A NodeList item as kubectl prints it, minus the fields podnet skips.
    static func item(_ name: String, podCIDRs: [String]? = nil, podCIDR: String? = nil, addresses: [String] = []) -> String {
        var spec: [String] = []
        if let podCIDR { spec.append("\"podCIDR\": \"\(podCIDR)\"") }
        if let podCIDRs { spec.append("\"podCIDRs\": [" + podCIDRs.map { "\"\($0)\"" }.joined(separator: ", ") + "]") }
        let entries = addresses.map { "{\"address\": \"\($0)\", \"type\": \"InternalIP\"}" }
            + ["{\"address\": \"\(name)\", \"type\": \"Hostname\"}"]
        return """
            {"apiVersion": "v1", "kind": "Node",
             "metadata": {"labels": {"kubernetes.io/hostname": "\(name)"}, "name": "\(name)"},
             "spec": {\(spec.joined(separator: ", "))},
             "status": {"addresses": [\(entries.joined(separator: ", "))], "conditions": [{"status": "True", "type": "Ready"}]}}
            """
    }

    static func nodeList(_ items: String...) -> String {
        "{\"apiVersion\": \"v1\", \"items\": [\n" + items.joined(separator: ",\n") + "\n], \"kind\": \"List\", \"metadata\": {\"resourceVersion\": \"\"}}"
    }

    static let config = """
        node:
          name: node-a
        cluster:
          podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
        """

    private func load(_ config: String, _ nodeList: String) throws(ConfigError) -> LoadedConfig {
        try ConfigLoader.load(configText: config, configName: "node.yaml", nodeListText: nodeList, nodeListName: "nodes.json")
    }

    private func load(_ nodeList: String) throws(ConfigError) -> LoadedConfig {
        try load(Self.config, nodeList)
    }

    @Test func fixtureGivesTheNodesPodCIDRsAndItsPeers() throws {
        let loaded = try Fixtures.load("from-nodelist.yaml")
        #expect(loaded.config.node.podCIDRs.map(\.description) == ["10.244.1.0/24", "fd00:10:244:1::/64"])
        #expect(loaded.config.peers == [
            Peer(name: "node-a", nodeIPs: [IPAddress("198.18.0.10")!, IPAddress("2001:db8::a")!],
                 podCIDRs: [try IPNetwork(parsing: "10.244.0.0/24"), try IPNetwork(parsing: "fd00:10:244::/64")]),
            Peer(name: "node-c", nodeIPs: [IPAddress("198.18.0.12")!, IPAddress("2001:db8::c")!],
                 podCIDRs: [try IPNetwork(parsing: "10.244.2.0/24"), try IPNetwork(parsing: "fd00:10:244:2::/64")]),
        ])
        #expect(loaded.warnings.map { "\($0.fieldPath): \($0.message)" } == [
            "items[3]: node node-d has no pod CIDR yet: skipped (no route to its pods)",
        ])
        #expect(loaded.warnings.first?.file == Fixtures.path("from-nodelist.nodes.json"))
        #expect(loaded.warnings.first?.line == 392)
    }

    @Test func olderSinglePodCIDRIsUsedWhenPodCIDRsIsAbsent() throws {
        let loaded = try load(Self.nodeList(
            Self.item("node-a", podCIDR: "10.244.1.0/24", addresses: ["198.18.0.10"]),
            Self.item("node-b", podCIDR: "10.244.2.0/24", addresses: ["198.18.0.11"])))
        #expect(loaded.config.node.podCIDRs.map(\.description) == ["10.244.1.0/24"])
        #expect(loaded.config.peers.map(\.podCIDRs.description) == ["[10.244.2.0/24]"])
    }

    @Test func theFirstInternalIPOfEachFamilyIsTheNodeIP() throws {
        let loaded = try load(Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24"]),
            Self.item("node-b", podCIDRs: ["10.244.2.0/24"], addresses: ["198.18.0.11", "2001:db8::11", "198.18.0.99"])))
        #expect(loaded.config.peers.first?.nodeIPs == [IPAddress("198.18.0.11")!, IPAddress("2001:db8::11")!])
    }

    /// Config peers come first, then the NodeList's, each in its own order; a peer in
    /// both with the same data is one peer.
    @Test func peersFromBothMerge() throws {
        let config = Self.config + """

            peers:
              - name: node-z
                nodeIPs: [198.18.0.99]
                podCIDRs: [10.244.99.0/24]
              - name: node-c
                nodeIPs: [198.18.0.12]
                podCIDRs: [10.244.3.0/24]
            """
        let loaded = try load(config, Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24"]),
            Self.item("node-b", podCIDRs: ["10.244.2.0/24"], addresses: ["198.18.0.11"]),
            Self.item("node-c", podCIDRs: ["10.244.3.0/24"], addresses: ["198.18.0.12"])))
        #expect(loaded.config.peers.map(\.name) == ["node-z", "node-c", "node-b"])
    }

    /// A dual-stack peer that reports one InternalIP (common: kubelet's --node-ip of one
    /// family) keeps the route it can have; the other family is a warning, not a refusal
    /// of the whole config.
    @Test func peerWithoutAnInternalIPOfAFamilyKeepsTheOtherFamilysRoute() throws {
        let loaded = try load(Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24", "fd00:10:244:1::/64"]),
            Self.item("node-b", podCIDRs: ["10.244.2.0/24", "fd00:10:244:2::/64"], addresses: ["198.18.0.11"]),
            Self.item("node-c", podCIDRs: ["10.244.3.0/24", "fd00:10:244:3::/64"], addresses: ["2001:db8::12"])))
        #expect(loaded.config.peers == [
            Peer(name: "node-b", nodeIPs: [IPAddress("198.18.0.11")!], podCIDRs: [try IPNetwork(parsing: "10.244.2.0/24")]),
            Peer(name: "node-c", nodeIPs: [IPAddress("2001:db8::12")!], podCIDRs: [try IPNetwork(parsing: "fd00:10:244:3::/64")]),
        ])
        #expect(loaded.warnings.map { "\($0.file) \($0.fieldPath): \($0.message)" } == [
            "nodes.json items[1].status.addresses: node node-b reports no IPv6 InternalIP: its IPv6 pod CIDR "
                + "fd00:10:244:2::/64 is not routed; routed: 10.244.2.0/24 via 198.18.0.11",
            "nodes.json items[2].status.addresses: node node-c reports no IPv4 InternalIP: its IPv4 pod CIDR "
                + "10.244.3.0/24 is not routed; routed: fd00:10:244:3::/64 via 2001:db8::12",
        ])
    }

    /// A peer that reports no InternalIP yet has no route at all: skipped, as a peer
    /// without a pod CIDR is, while its pod CIDRs still count for overlaps.
    @Test func peerWithoutAnyInternalIPIsSkippedWithAWarning() throws {
        let nodeList = Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24"]),
            Self.item("node-b", podCIDRs: ["10.244.2.0/24"]))
        let loaded = try load(nodeList)
        #expect(loaded.config.peers.isEmpty)
        #expect(loaded.warnings.map(\.message) == [
            "node node-b reports no IPv4 InternalIP: its IPv4 pod CIDR 10.244.2.0/24 is not routed; skipped (no route to its pods)",
        ])
        let overlapping = Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24"]),
            Self.item("node-b", podCIDRs: ["10.244.1.0/25"]))
        #expect(problems(Self.config, nodeList: overlapping).map(\.message) == [
            "10.244.1.0/25 overlaps this node's pod CIDR 10.244.1.0/24 (items[0].spec.podCIDRs[0])",
        ])
    }

    /// A family this node does not use is routed nowhere: no warning about it.
    @Test func missingInternalIPOfAFamilyTheNodeDoesNotUseIsNotWorthAWarning() throws {
        let loaded = try load(Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24"]),
            Self.item("node-b", podCIDRs: ["10.244.2.0/24", "fd00:10:244:2::/64"], addresses: ["198.18.0.11"])))
        #expect(loaded.warnings.isEmpty)
        #expect(loaded.config.peers.map(\.podCIDRs.description) == ["[10.244.2.0/24]"])
    }

    /// The user wrote this peer: a pod CIDR it cannot route is a mistake in the file.
    @Test func configPeerWithoutANodeIPOfAFamilyStaysAnError() {
        let config = Self.config.replacingOccurrences(of: "name: node-a", with: "name: node-a\n  podCIDRs: [10.244.1.0/24, \"fd00:10:244:1::/64\"]")
            + "\npeers:\n  - {name: node-b, nodeIPs: [198.18.0.11], podCIDRs: [10.244.2.0/24, \"fd00:10:244:2::/64\"]}"
        let found = problems(config, nodeList: Self.nodeList(Self.item("node-a", podCIDRs: ["10.244.1.0/24", "fd00:10:244:1::/64"])))
        #expect(found.map { "\($0.fieldPath): \($0.message)" } == [
            "peers[0].nodeIPs: no IPv6 node IP, but the peer has an IPv6 pod CIDR to route through it",
        ])
    }

    @Test func nodePodCIDRsGivenInBothMustAgree() throws {
        let nodeList = Self.nodeList(Self.item("node-a", podCIDRs: ["10.244.1.0/24", "fd00:10:244:1::/64"]))
        let agreeing = Self.config.replacingOccurrences(
            of: "name: node-a", with: "name: node-a\n  podCIDRs: [\"fd00:10:244:1::/64\", 10.244.1.0/24]")
        #expect(try load(agreeing, nodeList).config.node.podCIDRs.count == 2)

        let disagreeing = Self.config.replacingOccurrences(of: "name: node-a", with: "name: node-a\n  podCIDRs: [10.244.1.0/24]")
        #expect(problems(disagreeing, nodeList: nodeList).map(\.description) == [
            "node.yaml:3:13: node.podCIDRs: [10.244.1.0/24] differ from the NodeList's nodes.json items[0].spec.podCIDRs "
                + "[10.244.1.0/24, fd00:10:244:1::/64]",
        ])
    }

    @Test func samePeerWithDifferentNodeIPsIsAConflict() {
        let config = Self.config + "\npeers:\n  - {name: node-b, nodeIPs: [198.18.0.77], podCIDRs: [10.244.2.0/24]}"
        let found = problems(config, nodeList: Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24"]),
            Self.item("node-b", podCIDRs: ["10.244.2.0/24"], addresses: ["198.18.0.11"])))
        #expect(found.map { "\($0.fieldPath): \($0.message)" } == [
            "peers[0]: peer node-b differs from the NodeList's nodes.json items[1]: nodeIPs [198.18.0.77] here, [198.18.0.11] there",
        ])
    }

    @Test func overlapBetweenConfigAndNodeListNamesBothFiles() {
        let config = Self.config + "\npeers:\n  - {name: node-z, nodeIPs: [198.18.0.99], podCIDRs: [10.244.2.0/23]}"
        let found = problems(config, nodeList: Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24"]),
            Self.item("node-b", podCIDRs: ["10.244.3.0/24"], addresses: ["198.18.0.11"])))
        #expect(found.map { "\($0.file) \($0.fieldPath): \($0.message)" } == [
            "nodes.json items[1].spec.podCIDRs[0]: 10.244.3.0/24 overlaps node-z's pod CIDR 10.244.2.0/23 "
                + "(node.yaml peers[0].podCIDRs[0])",
        ])
    }

    /// Problems of both files are all reported, the config file's first.
    @Test func problemsOfBothFilesConfigFirst() {
        let config = Self.config + "\npods:\n  - {name: web-1, netns: web-1, ips: [10.244.1.1]}"
        let found = problems(config, nodeList: Self.nodeList(
            Self.item("node-a", podCIDRs: ["10.244.1.0/24"]),
            Self.item("node-b", podCIDRs: ["10.244.2.1/24"], addresses: ["198.18.0.11"])))
        #expect(found.map { "\($0.file) \($0.fieldPath)" } == ["node.yaml pods[0].ips[0]", "nodes.json items[1].spec.podCIDRs[0]"])
    }

    @Test func missingNodeItemIsAWarningWhenTheConfigHasTheCIDRs() throws {
        let config = Self.config.replacingOccurrences(of: "name: node-a", with: "name: node-a\n  podCIDRs: [10.244.1.0/24]")
        let loaded = try load(config, Self.nodeList(Self.item("node-b", podCIDRs: ["10.244.2.0/24"], addresses: ["198.18.0.11"])))
        #expect(loaded.config.peers.map(\.name) == ["node-b"])
        #expect(loaded.warnings.map(\.message) == ["no item is named node-a (node.name): every item was taken as a peer"])
    }

    @Test func nodeWithoutPodCIDRAnywhereIsAnError() {
        let found = problems(Self.config, nodeList: Self.nodeList(Self.item("node-a", addresses: ["198.18.0.10"])))
        #expect(found.map(\.message) == [
            "required: this node's pod CIDRs are unknown (the NodeList has no pod CIDR for node-a either)",
        ])
    }

    @Test(arguments: [
        ("[]", "1:1 : expected a NodeList object (the output of `kubectl get nodes -o json`), got a list"),
        ("{\"kind\": \"List\"}", " items: required (is this the output of `kubectl get nodes -o json`?)"),
        ("{\"items\": {}}", "1:11 items: expected a list of nodes, got an object"),
        ("{\"items\": [{\"metadata\": {}}]}", "1:12 items[0].metadata.name: required"),
        ("{\"items\": [{\"metadata\": {\"name\": \"node-b\"},\n \"spec\": {\"podCIDRs\": [24]}}]}",
         "2:24 items[0].spec.podCIDRs[0]: expected a string, got a number"),
        ("{\"items\": [{\"metadata\": {\"name\": \"Node_B\"}, \"spec\": {\"podCIDR\": \"10.244.2.0/24\"},\n"
            + " \"status\": {\"addresses\": [{\"type\": \"InternalIP\", \"address\": \"198.18.0.11\"}]}}]}",
         "1:34 items[0].metadata.name: \"Node_B\" is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', "
            + "starting and ending with a letter or digit)"),
    ])
    func shapeProblemsNameThePath(_ nodeList: String, _ expected: String) {
        let config = Self.config.replacingOccurrences(of: "name: node-a", with: "name: node-a\n  podCIDRs: [10.244.1.0/24]")
        let found = problems(config, nodeList: nodeList)
        #expect(found.map { d in "\(d.line.map { "\($0):\(d.column ?? 0)" } ?? "") \(d.fieldPath): \(d.message)" } == [expected])
        #expect(found.allSatisfy { $0.file == "nodes.json" })
    }

    @Test(arguments: [
        ("{\"items\": [], \"metadata\": [1,]}", "1:30", "unexpected ']'"),
        ("{\"items\": [], \"metadata\": tru}", "1:27", "unexpected 't'"),
        ("{\"items\": [], \"metadata\": 01}", "1:27", "malformed number"),
        ("{\"items\": [],\n  \"kind]}", "2:3", "unterminated string"),
        ("{\"items\": [], \"kind\": \"a\\qb\"}", "1:25", "bad escape"),
        ("{\"items\": []} x", "1:15", "unexpected 'x'"),
        ("{\"items\": [] \"kind\": \"List\"}", "1:14", "expected ',' or '}', found '\"'"),
        ("", "1:1", "unexpected end of data"),
        ("{\"items\": [], \"x\": " + String(repeating: "[", count: 1_000), "1:532", "nested deeper than 512 levels"),
    ])
    func syntaxErrorsHaveLineAndColumn(_ nodeList: String, _ position: String, _ message: String) {
        let found = problems(Self.config, nodeList: nodeList)
        #expect(found.map { "\($0.line ?? 0):\($0.column ?? 0) \($0.message)" } == ["\(position) JSON syntax error: \(message)"])
    }

    @Test func escapedStringsAreDecoded() throws {
        let nodeList = #"{"items": [{"metadata": {"name": "node\u002da"}, "spec": {"podCIDRs": ["10.244.1.0\/24"]}}]}"#
        #expect(try load(nodeList).config.node.podCIDRs.map(\.description) == ["10.244.1.0/24"])
    }

    /// A large cluster: every peer is kept, and the one overlap hidden among them is
    /// the one problem found.
    @Test func largeNodeListFindsTheOneOverlap() throws {
        func nodeList(claimingTwice: Bool) -> String {
            let items = (0..<1000).map { index in
                // With claimingTwice, node 700 claims node 300's pod CIDR.
                let third = claimingTwice && index == 700 ? 300 : index
                return Self.item("node-\(index)", podCIDRs: ["10.\(third / 256).\(third % 256).0/24"],
                                 addresses: ["198.18.\(index / 200).\(10 + index % 200)"])
            }
            return "{\"items\": [\n" + items.joined(separator: ",\n") + "\n]}"
        }
        let config = Self.config.replacingOccurrences(of: "name: node-a", with: "name: node-0")
            .replacingOccurrences(of: "10.244.0.0/16", with: "10.0.0.0/8")
        #expect(problems(config, nodeList: nodeList(claimingTwice: true)).map { "\($0.fieldPath): \($0.message)" } == [
            "items[700].spec.podCIDRs[0]: 10.1.44.0/24 overlaps node-300's pod CIDR 10.1.44.0/24 (items[300].spec.podCIDRs[0])",
        ])
        #expect(try load(config, nodeList(claimingTwice: false)).config.peers.count == 999)
    }
}
