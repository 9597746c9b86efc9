import PodNet
import PodNetCNI
import PodNetConfig
import Testing

@Suite struct JSONValueTests {
    @Test func readsAndWritesEveryKindKeepingOrderAndNumbers() throws {
        let text = #"{"b":1.50,"a":[true,false,null,"x\"y\\z\n\u0001é"],"c":{}}"#
        let value = try JSONValue.parse(text)
        #expect(value["b"] == .number("1.50"))
        #expect(value["a"]?.arrayValue?[3] == .string("x\"y\\z\n\u{1}é"))
        #expect(value.members?.map(\.key) == ["b", "a", "c"])
        #expect(value.serialized == #"{"b":1.50,"a":[true,false,null,"x\"y\\z\n\u0001é"],"c":{}}"#)
        #expect(try JSONValue.parse(value.serialized) == value)
    }

    @Test func syntaxErrorsSayWhere() {
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse("{\"a\": }") }
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse("{} x") }
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(String(repeating: "[", count: 100)) }
    }
}

@Suite struct CNIEnvironmentTests {
    let add = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/run/netns/x", "CNI_IFNAME": "eth0"]

    private func code(_ variables: [String: String]) -> CNIError.Code? {
        do {
            _ = try CNIEnvironment(variables)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func addNeedsContainerNamespaceAndInterface() {
        #expect(code(add) == nil)
        for key in ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"] {
            var variables = add
            variables[key] = nil
            #expect(code(variables) == .invalidEnvironment, "\(key)")
        }
        #expect(code(add.merging(["CNI_COMMAND": "ATTACH"]) { $1 }) == .invalidEnvironment)
        #expect(code(add.merging(["CNI_CONTAINERID": "-abc"]) { $1 }) == .invalidEnvironment)
        #expect(code(add.merging(["CNI_CONTAINERID": "a/b"]) { $1 }) == .invalidEnvironment)
        #expect(code(add.merging(["CNI_IFNAME": "eth0:1"]) { $1 }) == .invalidEnvironment)
        #expect(code(add.merging(["CNI_IFNAME": "sixteen-bytes-xx"]) { $1 }) == .invalidEnvironment)
        #expect(code(add.merging(["CNI_NETNS": "netns"]) { $1 }) == .invalidEnvironment)
        #expect(code(add.merging(["CNI_ARGS": "IgnoreUnknown"]) { $1 }) == .invalidEnvironment)
    }

    @Test func delTakesAnEmptyNamespaceAndVersionNothing() {
        #expect(code(add.merging(["CNI_COMMAND": "DEL", "CNI_NETNS": ""]) { $1 }) == nil)
        #expect(code(["CNI_COMMAND": "VERSION"]) == nil)
        #expect(code(["CNI_COMMAND": "GC"]) == nil)
        #expect(code(["CNI_COMMAND": "STATUS"]) == nil)
    }

    @Test func kubernetesArgsNameThePod() throws {
        let environment = try CNIEnvironment(add.merging([
            "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc",
        ]) { $1 })
        #expect(environment.kubernetesPod == "default/web-0")
        #expect(environment.arg("IgnoreUnknown") == "1")
    }
}

@Suite struct CNIPluginConfigTests {
    private func code(_ text: String, _ command: CNICommand = .add) -> CNIError? {
        do {
            _ = try CNIPluginConfig(Array(text.utf8), command: command)
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsAndRuntimeConfig() throws {
        let config = try CNIPluginConfig(Array(#"""
            {"cniVersion":"0.4.0","name":"pods","type":"podnet","capabilities":{"portMappings":true},
             "runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"udp","hostIP":""},
                                              {"hostPort":53,"containerPort":5353,"hostIP":"192.0.2.1"}]}}
            """#.utf8), command: .add)
        #expect(config.cniVersion == .v0_4_0)
        #expect(config.nodeConfigPath == "/etc/podnet/node.yaml")
        #expect(config.dataDirectory == "/var/lib/podnet")
        #expect(config.portMappings == [
            CNIPortMapping(hostPort: 8080, containerPort: 80, transport: .udp),
            CNIPortMapping(hostPort: 53, containerPort: 5353, transport: .tcp, hostIP: IPAddress("192.0.2.1")),
        ])
    }

    @Test func theSpecsCodes() {
        #expect(code("not json")?.code == .decodeFailure)
        #expect(code("[]")?.code == .decodeFailure)
        #expect(code(#"{"name":"n"}"#)?.code == .invalidNetworkConfig)
        #expect(code(#"{"cniVersion":"0.2.0","name":"n"}"#)?.code == .incompatibleVersion)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n"}"#, .status)?.code == .incompatibleVersion)
        #expect(code(#"{"cniVersion":"0.3.1","name":"n"}"#, .check)?.code == .incompatibleVersion)
        #expect(code(#"{"cniVersion":"1.0.0"}"#)?.code == .invalidNetworkConfig)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n","type":"bridge"}"#)?.code == .invalidNetworkConfig)
        #expect(code(#"{"cniVersion":"1.0.0","name":"n","nodeConfig":"relative.yaml"}"#)?.code == .invalidNetworkConfig)
        let port = code(#"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":80}]}}"#)
        #expect(port?.code == .invalidNetworkConfig)
        #expect(port?.message.hasPrefix("runtimeConfig.portMappings[0].hostPort:") == true)
        let transport = code(#"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":80,"protocol":"icmp"}]}}"#)
        #expect(transport?.message.hasPrefix("runtimeConfig.portMappings[0].protocol:") == true)
    }

    @Test func validAttachments() throws {
        let config = try CNIPluginConfig(Array(#"""
            {"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}]}
            """#.utf8), command: .gc)
        #expect(config.validAttachments == [AttachmentID(containerID: "a", ifname: "eth0")])
    }

    @Test func errorsAnswerInTheRequestsVersion() {
        let error = CNIError(.invalidEnvironment, "CNI_IFNAME is required")
        #expect(error.json(version: "0.3.1").serialized
            == #"{"cniVersion":"0.3.1","code":4,"msg":"CNI_IFNAME is required"}"#)
        #expect(CNIPluginConfig.requestedVersion(Array(#"{"cniVersion":"0.4.0"}"#.utf8)) == "0.4.0")
        #expect(CNIPluginConfig.requestedVersion(Array("junk".utf8)) == "1.1.0")
    }
}

@Suite struct CNIResultTests {
    let result = CNIResult(
        interfaces: [
            CNIResult.Interface(name: "cbr0", mac: MACAddress(bytes: [2, 0, 0, 0, 0, 1])),
            CNIResult.Interface(name: "veth1", mac: MACAddress(bytes: [2, 0, 0, 0, 0, 2]), mtu: 1460),
            CNIResult.Interface(name: "eth0", mac: MACAddress(bytes: [2, 0, 0, 0, 0, 3]), mtu: 1460, sandbox: "/run/netns/p"),
        ],
        ips: [CNIResult.IP(address: InterfaceAddress(interface: "eth0", address: IPAddress("10.244.1.2")!, prefixLength: 24),
                           gateway: IPAddress("10.244.1.1"), interface: 2)],
        routes: [CNIResult.Route(destination: try! IPNetwork(parsing: "0.0.0.0/0"), gateway: IPAddress("10.244.1.1"))])

    @Test func shapeFollowsTheVersion() {
        let old = result.json(version: .v0_3_1)
        #expect(old["cniVersion"] == .string("0.3.1"))
        #expect(old["ips"]?.arrayValue?.first?["version"] == .string("4"))
        #expect(old["interfaces"]?.arrayValue?[1]["mtu"] == nil)
        let v1 = result.json(version: .v1_0_0)
        #expect(v1["ips"]?.arrayValue?.first?["version"] == nil)
        #expect(v1["ips"]?.arrayValue?.first?["interface"] == .number("2"))
        #expect(v1["ips"]?.arrayValue?.first?["address"] == .string("10.244.1.2/24"))
        #expect(v1["interfaces"]?.arrayValue?[2]["sandbox"] == .string("/run/netns/p"))
        #expect(result.json(version: .v1_1_0)["interfaces"]?.arrayValue?[1]["mtu"] == .number("1460"))
    }

    @Test func readsBackEveryVersion() throws {
        for version in CNIVersion.allCases {
            var expected = result
            if version < .v1_1_0 { expected.interfaces = expected.interfaces.map { var i = $0; i.mtu = nil; return i } }
            #expect(try CNIResult(parsing: result.json(version: version)) == expected, "\(version)")
        }
    }
}

@Suite struct AddressPoolTests {
    @Test func neverNetworkGatewayOrBroadcast() throws {
        let cidr = try IPNetwork(parsing: "10.0.0.0/30")
        #expect(AddressPool.next(in: cidr, taken: []) == IPAddress("10.0.0.2"))
        #expect(AddressPool.next(in: cidr, taken: [IPAddress("10.0.0.2")!]) == nil)
        #expect(AddressPool.capacity(of: cidr) == 1)
        let v6 = try IPNetwork(parsing: "fd00::/126")
        #expect(AddressPool.next(in: v6, taken: [IPAddress("fd00::2")!]) == IPAddress("fd00::3"))
        #expect(AddressPool.next(in: v6, taken: [IPAddress("fd00::2")!, IPAddress("fd00::3")!]) == nil)
        #expect(AddressPool.next(in: try IPNetwork(parsing: "10.0.0.0/31"), taken: []) == nil)
    }

    @Test func lowestFreeSkipsTheTaken() throws {
        let cidr = try IPNetwork(parsing: "10.244.1.0/24")
        let taken: Set<IPAddress> = [IPAddress("10.244.1.2")!, IPAddress("10.244.1.3")!, IPAddress("10.244.1.5")!]
        #expect(AddressPool.next(in: cidr, taken: taken) == IPAddress("10.244.1.4"))
        #expect(AddressPool.capacity(of: cidr) == 253)
    }

    @Test func theConfigsOwnPodsAndHostPortsAreReserved() throws {
        let config = NodeConfig(node: NodeIdentity(name: "n", podCIDRs: [try IPNetwork(parsing: "10.244.1.0/24")]),
                                cluster: ClusterNetwork(podCIDRs: [try IPNetwork(parsing: "10.244.0.0/16")]),
                                hostPorts: [HostPortMapping(podIP: IPAddress("10.244.1.9")!, transport: .tcp,
                                                            hostPort: 80, containerPort: 80)],
                                pods: [PodSpec(name: "p", netnsPath: "/run/netns/p", ips: [IPAddress("10.244.1.2")!])])
        #expect(AddressPool.reserved(by: config) == [IPAddress("10.244.1.2")!, IPAddress("10.244.1.9")!])
    }
}

@Suite struct AllocationTests {
    let allocation = Allocation(
        id: AttachmentID(containerID: "c1", ifname: "eth0"), netns: "/run/netns/p",
        addresses: [IPAddress("fd00::2")!, IPAddress("10.0.0.2")!],
        portMappings: [CNIPortMapping(hostPort: 8080, containerPort: 80),
                       CNIPortMapping(hostPort: 53, containerPort: 53, transport: .udp, hostIP: IPAddress("192.0.2.1"))],
        podName: "default/web")

    @Test func recordRoundTrip() throws {
        #expect(Allocation(try JSONValue.parse(allocation.json.serialized)) == allocation)
        #expect(Allocation(try JSONValue.parse(#"{"containerID":"c"}"#)) == nil)
    }

    @Test func hostPortsPerFamily() {
        let mappings = allocation.hostPortMappings
        // 8080 on both families (no hostIP), 53 only on IPv4 (its hostIP's family).
        #expect(mappings.map { "\($0.transport.rawValue)/\($0.hostPort)->\($0.podIP)" }
            == ["tcp/8080->10.0.0.2", "tcp/8080->fd00::2", "udp/53->10.0.0.2"])
        #expect(mappings.allSatisfy { $0.podName == "default/web" })
    }

    @Test func theAttachmentIsAPodOfTheNode() throws {
        let config = NodeConfig(node: NodeIdentity(name: "n", podCIDRs: [try IPNetwork(parsing: "10.0.0.0/24")]),
                                cluster: ClusterNetwork(podCIDRs: [try IPNetwork(parsing: "10.0.0.0/16")]))
        var other = allocation
        other.id.ifname = "net1"
        let including = config.including([allocation, other])
        #expect(including.pods.map(\.name) == ["cni/c1/eth0", "cni/c1/net1"])
        #expect(including.pods.map(\.interface) == ["eth0", "net1"])
        #expect(including.hostPorts.count == 6)
    }
}
