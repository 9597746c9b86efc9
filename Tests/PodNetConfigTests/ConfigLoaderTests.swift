import Testing
import PodNet
import PodNetConfig

@Suite struct ConfigLoaderTests {
    static let minimal = """
        node:
          name: node-a
          podCIDRs: [10.244.1.0/24]
        cluster:
          podCIDRs: [10.244.0.0/16]
        """

    private func load(_ text: String) throws(ConfigError) -> NodeConfig {
        try ConfigLoader.load(configText: text, configName: "node.yaml").config
    }

    @Test func minimalConfigTakesEveryDefault() throws {
        let config = try load(Self.minimal)
        let cluster = try #require(IPNetwork(parsing: "10.244.0.0/16") as IPNetwork?)
        #expect(config.version == 1)
        #expect(config.node == NodeIdentity(name: "node-a", podCIDRs: [try IPNetwork(parsing: "10.244.1.0/24")]))
        #expect(config.cluster.podCIDRs == [cluster])
        #expect(config.cluster.nonMasqueradeCIDRs == [cluster])
        #expect(config.bridge == BridgeConfig(name: "cbr0", mtu: .automatic, hairpinMode: .hairpinVeth))
        #expect(config.masquerade)
        #expect(config.forwardAccept)
        #expect(config.routeProtocol == 111)
        #expect(config.routeTable == 254)
        #expect(config.peers.isEmpty && config.hostPorts.isEmpty && config.pods.isEmpty)
    }

    static let full = """
        version: 1
        node:
          name: node-a
          podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]
        cluster:
          podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
          nonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12, "fd00::/8"]
        bridge:
          name: br-pods
          mtu: 9000
          hairpinMode: none
        masquerade: false
        forwardAccept: false
        routeProtocol: 200
        routeTable: 100
        peers:
          - name: node-b
            nodeIPs: [198.18.0.11, "2001:db8::11"]
            podCIDRs: [10.244.2.0/24, "fd00:10:244:2::/64"]
        hostPorts:
          - podIP: 10.244.1.10
            protocol: udp
            hostPort: 5353
            containerPort: 53
            hostIP: 198.18.0.10
          - podIP: "fd00:10:244:1::b"
            hostPort: 8443
            containerPort: 443
            pod: api-0
        pods:
          - name: web-1
            netns: web-1
            ips: [10.244.1.10, "fd00:10:244:1::a"]
          - name: api-0
            netns: /var/run/netns/api-0
            ips: ["fd00:10:244:1::b"]
        """

    @Test func readsEveryKey() throws {
        let config = try load(Self.full)
        #expect(config.node.podCIDRs.map(\.description) == ["10.244.1.0/24", "fd00:10:244:1::/64"])
        #expect(config.cluster.nonMasqueradeCIDRs.map(\.description) == ["10.0.0.0/8", "172.16.0.0/12", "fd00::/8"])
        #expect(config.bridge == BridgeConfig(name: "br-pods", mtu: .fixed(9000), hairpinMode: HairpinMode.none))
        #expect(!config.masquerade)
        #expect(!config.forwardAccept)
        #expect(config.routeProtocol == 200)
        #expect(config.routeTable == 100)
        #expect(config.peers == [Peer(name: "node-b", nodeIPs: [IPAddress("198.18.0.11")!, IPAddress("2001:db8::11")!],
                                      podCIDRs: [try IPNetwork(parsing: "10.244.2.0/24"), try IPNetwork(parsing: "fd00:10:244:2::/64")])])
        #expect(config.hostPorts == [
            HostPortMapping(podIP: IPAddress("10.244.1.10")!, transport: .udp, hostPort: 5353, containerPort: 53,
                            hostIP: IPAddress("198.18.0.10"), podName: "web-1"),
            HostPortMapping(podIP: IPAddress("fd00:10:244:1::b")!, transport: .tcp, hostPort: 8443, containerPort: 443,
                            hostIP: nil, podName: "api-0"),
        ])
        #expect(config.pods == [
            PodSpec(name: "web-1", netnsPath: "/run/netns/web-1", ips: [IPAddress("10.244.1.10")!, IPAddress("fd00:10:244:1::a")!]),
            PodSpec(name: "api-0", netnsPath: "/var/run/netns/api-0", ips: [IPAddress("fd00:10:244:1::b")!]),
        ])
    }

    @Test func jsonConfigReadsLikeYAML() throws {
        let json = """
            {
              "version": 1,
              "node": {"name": "node-a", "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"]},
              "cluster": {
                "podCIDRs": ["10.244.0.0/16", "fd00:10:244::/56"],
                "nonMasqueradeCIDRs": ["10.0.0.0/8", "172.16.0.0/12", "fd00::/8"]
              },
              "bridge": {"name": "br-pods", "mtu": 9000, "hairpinMode": "none"},
              "masquerade": false, "forwardAccept": false,
              "routeProtocol": 200, "routeTable": 100,
              "peers": [{"name": "node-b", "nodeIPs": ["198.18.0.11", "2001:db8::11"],
                         "podCIDRs": ["10.244.2.0/24", "fd00:10:244:2::/64"]}],
              "hostPorts": [
                {"podIP": "10.244.1.10", "protocol": "udp", "hostPort": 5353, "containerPort": 53, "hostIP": "198.18.0.10"},
                {"podIP": "fd00:10:244:1::b", "hostPort": 8443, "containerPort": 443, "pod": "api-0"}
              ],
              "pods": [
            \t{"name": "web-1", "netns": "web-1", "ips": ["10.244.1.10", "fd00:10:244:1::a"]},
            \t{"name": "api-0", "netns": "/var/run/netns/api-0", "ips": ["fd00:10:244:1::b"]}
              ]
            }
            """
        #expect(try load(json) == load(Self.full))
    }

    /// masqueradeMark configured a mark bit podnet no longer uses: a config that has it
    /// still loads, whatever its value, with a warning at the key.
    @Test(arguments: ["\"0x2000\"", "16384", "\"0x6000\""])
    func masqueradeMarkIsAcceptedWithAWarningThatItIsUnused(_ text: String) throws {
        let loaded = try ConfigLoader.load(configText: Self.minimal + "\nmasqueradeMark: \(text)", configName: "node.yaml")
        #expect(loaded.config == (try load(Self.minimal)))
        #expect(loaded.warnings.map(\.description) == [
            "node.yaml:6:17: masqueradeMark: is no longer used and can be removed: podnet masquerades hairpin "
                + "host-port traffic by its addresses, and no longer sets or matches a packet-mark bit",
        ])
    }

    @Test func explicitAutoMTUAndEmptySectionsMeanTheDefaults() throws {
        let config = try load(Self.minimal + "\nbridge:\n  mtu: auto\npeers:\nhostPorts:\npods: []")
        #expect(config.bridge.mtu == .automatic)
        #expect(config.peers.isEmpty && config.hostPorts.isEmpty && config.pods.isEmpty)
    }

    /// An MTU below IPv6's minimum is fine on a node without IPv6.
    @Test func smallMTUWithoutIPv6() throws {
        #expect(try load(Self.minimal + "\nbridge:\n  mtu: 576").bridge.mtu == .fixed(576))
    }

    /// YAML 1.1 reads `no` as a boolean; a name is the text the user wrote.
    @Test func namesAreTheTextWritten() throws {
        let config = try load(Self.minimal.replacingOccurrences(of: "name: node-a", with: "name: no"))
        #expect(config.node.name == "no")
    }

    @Test func wrongTypesSayWhatWasExpectedAndFound() {
        let found = problems(Self.minimal + """

            bridge: cbr0
            masquerade: "true"
            routeTable: [254]
            peers:
              node-b: {}
            pods:
              - name: web-1
                netns: web-1
                ips: 10.244.1.10
            """)
        #expect(found.map { "\($0.fieldPath): \($0.message)" } == [
            "bridge: expected a mapping with name, mtu and hairpinMode, got a string (\"cbr0\")",
            "masquerade: expected true or false, got a string (\"true\")",
            "routeTable: expected a routing table number, got a list",
            "peers: expected a list of peers, got a mapping",
            "pods[0].ips: expected a list of IP address strings, got a string (\"10.244.1.10\")",
        ])
    }

    /// A refused node pod CIDR is reported once: the pods that would lie in it are not
    /// also reported as outside the node's pod CIDRs.
    @Test func aRefusedValueDoesNotCascade() {
        let found = problems("""
            node:
              name: node-a
              podCIDRs: [10.244.1.5/24]
            cluster:
              podCIDRs: [10.244.0.0/16]
            hostPorts:
              - {podIP: 10.244.1.10, hostPort: 80, containerPort: 80}
            pods:
              - {name: web-1, netns: web-1, ips: [10.244.1.10]}
            """)
        #expect(found.map(\.fieldPath) == ["node.podCIDRs[0]"])
    }

    @Test func unknownKeyFarFromAnyValidKeyListsThem() {
        let found = problems(Self.minimal + "\nbridge:\n  colour: blue")
        #expect(found.map(\.description) == ["node.yaml:7:3: bridge.colour: unknown key (valid keys: name, mtu, hairpinMode)"])
    }

    @Test func hostPortsOfBothFamiliesMayShareAPort() throws {
        let config = try load("""
            node: {name: node-a, podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]}
            cluster: {podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]}
            hostPorts:
              - {podIP: 10.244.1.10, hostPort: 8080, containerPort: 80}
              - {podIP: "fd00:10:244:1::a", hostPort: 8080, containerPort: 80}
              - {podIP: 10.244.1.10, protocol: udp, hostPort: 8080, containerPort: 80}
              - {podIP: 10.244.1.11, protocol: sctp, hostPort: 8080, containerPort: 80}
            """)
        #expect(config.hostPorts.map(\.family) == [.ipv4, .ipv6, .ipv4, .ipv4])
    }

    @Test func warnsOfMasqueradedPodTrafficAndUnroutedPeerPods() throws {
        let loaded = try ConfigLoader.load(configText: """
            node:
              name: node-a
              podCIDRs: [10.244.1.0/24]
            cluster:
              podCIDRs: [10.244.0.0/16]
              nonMasqueradeCIDRs: [10.96.0.0/12]
            peers:
              - {name: node-b, nodeIPs: [198.18.0.11], podCIDRs: [10.245.2.0/24]}
            """, configName: "node.yaml")
        #expect(loaded.warnings.map { "\($0.line ?? 0) \($0.fieldPath)" } == ["6 cluster.nonMasqueradeCIDRs", "8 peers[0].podCIDRs[0]"])
        #expect(loaded.warnings.first?.message.contains("10.244.0.0/16") == true)
        #expect(try ConfigLoader.load(configText: Self.minimal, configName: "node.yaml").warnings.isEmpty)
    }

    /// The smallest node pod CIDRs that still hold one pod.
    @Test(arguments: [("10.244.1.0/30", true), ("10.244.1.0/31", false), ("10.244.1.1/32", false),
                      ("fd00:10:244:1::/126", true), ("fd00:10:244:1::/127", false)])
    func nodePodCIDRMustHoldAPod(_ cidr: String, _ accepted: Bool) {
        let config = """
            node: {name: node-a, podCIDRs: ["\(cidr)"]}
            cluster: {podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]}
            """
        #expect(problems(config).isEmpty == accepted, "\(problems(config))")
    }

    @Test func unreadableFileIsReported() {
        #expect {
            try ConfigLoader.load(configPath: "/nonexistent/podnet.yaml")
        } throws: { error in
            let diagnostics = (error as? ConfigError)?.diagnostics ?? []
            return diagnostics.count == 1 && diagnostics[0].file == "/nonexistent/podnet.yaml"
                && diagnostics[0].message.hasPrefix("cannot read the file")
        }
    }
}
