import Testing
import PodNet
@testable import PodNetCompiler

@Suite struct MasqueradeTests {
    @Test func ipv4MasqueradeChain() throws {
        let state = try Compiler.compile(TestConfigs.node([.ipv4]))
        #expect(state.saveLines(.ipv4, .nat) == [
            ":PODNET-MASQUERADE - [0:0]",
            ":PODNET-POSTROUTING - [0:0]",
            "-A POSTROUTING -m comment --comment \"podnet: postrouting rules\" -j PODNET-POSTROUTING",
            "-A PODNET-MASQUERADE -d 10.244.0.0/16 -m comment --comment \"podnet: no SNAT to non-masquerade CIDRs\" -j RETURN",
            "-A PODNET-MASQUERADE -m comment --comment \"podnet: no SNAT to local addresses\" -m addrtype --dst-type LOCAL -j RETURN",
            "-A PODNET-MASQUERADE -m comment --comment \"podnet: SNAT for outbound traffic from pods\" -j MASQUERADE",
            "-A PODNET-POSTROUTING -s 10.244.1.0/24 -m comment --comment \"podnet: SNAT for outbound traffic from pods\" -j PODNET-MASQUERADE",
        ])
        #expect(state.table(TableID(.ipv4, .nat))?.jumps.map(\.placement) == [.top])
    }

    @Test func severalNonMasqueradeCIDRsEachReturnSortedPerFamily() throws {
        let config = TestConfigs.node(nonMasquerade: [
            TestConfigs.net("192.168.0.0/16"), TestConfigs.net("fd00:10:244::/56"),
            TestConfigs.net("10.0.0.0/8"), TestConfigs.net("2001:db8:100::/48"),
        ])
        let state = try Compiler.compile(config)
        let returns = { (family: IPFamily) in
            state.saveLines(family, .nat).filter { $0.hasPrefix("-A PODNET-MASQUERADE -d") }
        }
        #expect(returns(.ipv4).map { $0.split(separator: " ")[3] } == ["10.0.0.0/8", "192.168.0.0/16"])
        #expect(returns(.ipv6).map { $0.split(separator: " ")[3] } == ["2001:db8:100::/48", "fd00:10:244::/56"])
        #expect(state.saveLines(.ipv6, .nat).contains(
            "-A PODNET-POSTROUTING -s fd00:10:244:1::/64 -m comment --comment \"podnet: SNAT for outbound traffic from pods\" -j PODNET-MASQUERADE"))
    }

    @Test func masqueradeOffWithoutHostPortsLeavesNoNatTable() throws {
        let state = try Compiler.compile(TestConfigs.node(masquerade: false))
        #expect(state.table(TableID(.ipv4, .nat)) == nil)
        #expect(state.table(TableID(.ipv6, .nat)) == nil)
        #expect(state.table(TableID(.ipv4, .filter)) != nil)
    }
}

@Suite struct ForwardAcceptTests {
    @Test func acceptsFromAndToClusterCIDRsAppendedToForward() throws {
        let state = try Compiler.compile(TestConfigs.node([.ipv6]))
        #expect(state.saveLines(.ipv6, .filter) == [
            ":PODNET-FORWARD - [0:0]",
            "-A FORWARD -m comment --comment \"podnet: forward rules\" -j PODNET-FORWARD",
            "-A PODNET-FORWARD -s fd00:10:244::/56 -m comment --comment \"podnet: forward traffic from pods\" -j ACCEPT",
            "-A PODNET-FORWARD -d fd00:10:244::/56 -m comment --comment \"podnet: forward traffic to pods\" -j ACCEPT",
        ])
        #expect(state.table(TableID(.ipv6, .filter))?.jumps.map(\.placement) == [.appended])
        #expect(state.table(TableID(.ipv4, .filter)) == nil, "no IPv4 pod CIDR, no IPv4 rules")
    }

    @Test func forwardAcceptOffWithoutHostPortsLeavesNoFilterTable() throws {
        let state = try Compiler.compile(TestConfigs.node(forwardAccept: false))
        #expect(state.tables.map(\.id) == [TableID(.ipv4, .nat), TableID(.ipv6, .nat)])
    }

    @Test func nothingToDoLeavesNoTablesAtAll() throws {
        let state = try Compiler.compile(TestConfigs.node(masquerade: false, forwardAccept: false))
        #expect(state.tables.isEmpty)
    }
}

@Suite struct HostPortTests {
    static let webV4 = HostPortMapping(podIP: TestConfigs.ip("10.244.1.10"), transport: .tcp, hostPort: 8080,
                                       containerPort: 80, podName: "web-1")
    static let dnsV6 = HostPortMapping(podIP: TestConfigs.ip("fd00:10:244:1::a"), transport: .udp, hostPort: 5353,
                                       containerPort: 53, hostIP: TestConfigs.ip("2001:db8:56::10"))

    @Test func ipv4TCPMappingRules() throws {
        let state = try Compiler.compile(TestConfigs.node([.ipv4], masquerade: false, forwardAccept: false,
                                                          hostPorts: [Self.webV4]))
        let hp = HostPortRules.chainName(for: Self.webV4).rawValue
        let comment = "\"podnet: hostport web-1 tcp/8080\""
        #expect(state.saveLines(.ipv4, .nat) == [
            ":PODNET-HAIRPIN - [0:0]",
            ":PODNET-HOSTPORTS - [0:0]",
            ":\(hp) - [0:0]",
            ":PODNET-OUTPUT - [0:0]",
            ":PODNET-POSTROUTING - [0:0]",
            ":PODNET-PREROUTING - [0:0]",
            "-A PREROUTING -m comment --comment \"podnet: prerouting rules\" -j PODNET-PREROUTING",
            "-A OUTPUT -m comment --comment \"podnet: output rules\" -j PODNET-OUTPUT",
            "-A POSTROUTING -m comment --comment \"podnet: postrouting rules\" -j PODNET-POSTROUTING",
            "-A PODNET-HAIRPIN -s 10.244.1.10/32 -d 10.244.1.10/32 -m comment --comment \"podnet: SNAT for hairpin host-port traffic\" -j MASQUERADE",
            "-A PODNET-HOSTPORTS -p tcp -m comment --comment \(comment) -m tcp --dport 8080 -j \(hp)",
            "-A \(hp) -p tcp -m comment --comment \(comment) -m tcp -j DNAT --to-destination 10.244.1.10:80",
            "-A PODNET-OUTPUT -m comment --comment \"podnet: host ports\" -m addrtype --dst-type LOCAL -j PODNET-HOSTPORTS",
            "-A PODNET-POSTROUTING -s 10.244.1.0/24 -m comment --comment \"podnet: SNAT for hairpin host-port traffic\" -m conntrack --ctstate DNAT -j PODNET-HAIRPIN",
            "-A PODNET-POSTROUTING -s 127.0.0.0/8 -o cbr0 -m comment --comment \"podnet: SNAT for localhost access to host ports\" -j MASQUERADE",
            "-A PODNET-PREROUTING -m comment --comment \"podnet: host ports\" -m addrtype --dst-type LOCAL -j PODNET-HOSTPORTS",
        ])
        #expect(state.saveLines(.ipv4, .filter) == [
            ":PODNET-INPUT - [0:0]",
            "-A INPUT -m comment --comment \"podnet: input rules\" -j PODNET-INPUT",
            "-A PODNET-INPUT ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"podnet: block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
        ])
        #expect(state.sysctls.contains(SysctlSetting(.routeLocalnet(interface: "cbr0"), "1")))
    }

    @Test func ipv6MappingHasNoLocalhostRulesAndBracketsTheDestination() throws {
        let state = try Compiler.compile(TestConfigs.node(masquerade: false, forwardAccept: false,
                                                          hostPorts: [Self.dnsV6]))
        let hp = HostPortRules.chainName(for: Self.dnsV6).rawValue
        let lines = state.saveLines(.ipv6, .nat)
        #expect(lines.contains(
            "-A PODNET-HOSTPORTS -d 2001:db8:56::10/128 -p udp -m comment --comment \"podnet: hostport udp/5353 on 2001:db8:56::10\" -m udp --dport 5353 -j \(hp)"))
        #expect(lines.contains(
            "-A \(hp) -p udp -m comment --comment \"podnet: hostport udp/5353 on 2001:db8:56::10\" -m udp -j DNAT --to-destination [fd00:10:244:1::a]:53"))
        #expect(!lines.contains { $0.contains("127.0.0.0/8") })
        #expect(state.table(TableID(.ipv6, .filter)) == nil, "the localnet guard is IPv4 only")
        #expect(state.tables.map(\.id) == [TableID(.ipv6, .nat)], "no IPv4 host port, no IPv4 rules")
        #expect(state.sysctls.contains(SysctlSetting(.routeLocalnet(interface: "cbr0"), "0")),
                "without an IPv4 host port, route_localnet on podnet's bridge is wanted off")
    }

    @Test func sctpUsesItsOwnMatch() throws {
        let sctp = HostPortMapping(podIP: TestConfigs.ip("10.244.1.10"), transport: .sctp, hostPort: 3868,
                                   containerPort: 3868)
        let state = try Compiler.compile(TestConfigs.node([.ipv4], hostPorts: [sctp]))
        let lines = state.saveLines(.ipv4, .nat)
        #expect(lines.contains { $0.hasPrefix("-A PODNET-HOSTPORTS -p sctp -m comment") && $0.contains("-m sctp --dport 3868 -j PODNET-HP-") })
        #expect(lines.contains { $0.contains("-p sctp") && $0.hasSuffix("-m sctp -j DNAT --to-destination 10.244.1.10:3868") })
    }

    @Test func hostIPSpecificMappingPrecedesTheWildcardOnTheSamePort() throws {
        let wildcard = HostPortMapping(podIP: TestConfigs.ip("10.244.1.10"), transport: .tcp, hostPort: 80, containerPort: 80)
        let specific = HostPortMapping(podIP: TestConfigs.ip("10.244.1.11"), transport: .tcp, hostPort: 80,
                                       containerPort: 8080, hostIP: TestConfigs.ip("198.18.0.10"))
        let udp = HostPortMapping(podIP: TestConfigs.ip("10.244.1.12"), transport: .udp, hostPort: 53, containerPort: 53)
        let state = try Compiler.compile(TestConfigs.node([.ipv4], hostPorts: [udp, wildcard, specific]))
        let dispatch = try #require(state.table(TableID(.ipv4, .nat))?.chains.first { $0.name == HostPortRules.chain })
        #expect(dispatch.rules.map(\.target) == [specific, wildcard, udp].map { .jump(HostPortRules.chainName(for: $0)) })
    }

    @Test func mappingChainNamesAreHashedStableAndFit() {
        let name = HostPortRules.chainName(for: Self.webV4).rawValue
        #expect(name.hasPrefix("PODNET-HP-"))
        #expect(name.count == 26 && name.count <= ChainName.maxLength)
        #expect(name.dropFirst(10).allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) })
        // The key is "family/protocol/hostPort/hostIP/podIP/containerPort": the same text
        // hashed independently gives the same name.
        #expect(name == "PODNET-HP-" + Base32.encode(SHA256.digest("ipv4/tcp/8080//10.244.1.10/80")).prefix(16))
        var otherPort = Self.webV4
        otherPort.containerPort = 81
        #expect(HostPortRules.chainName(for: otherPort) != HostPortRules.chainName(for: Self.webV4))
        var otherHost = Self.webV4
        otherHost.hostIP = TestConfigs.ip("198.18.0.10")
        #expect(HostPortRules.chainName(for: otherHost) != HostPortRules.chainName(for: Self.webV4))
        var renamed = Self.webV4
        renamed.podName = "web-2"
        #expect(HostPortRules.chainName(for: renamed) == HostPortRules.chainName(for: Self.webV4),
                "the pod's name is a comment, not part of the key")
    }

    /// The key written byte by byte, and the name taken from the digest's words, are what
    /// joining the parts' text and base32-encoding the whole digest give, for ports at the
    /// edges of their digit counts and for both families, with and without a host IP.
    @Test func mappingChainNamesMatchTheTextKeyAndWholeDigest() {
        let pods = [TestConfigs.ip("10.244.1.10"), TestConfigs.ip("fd00:10:244:1::a")]
        let hostIPs: [IPAddress?] = [nil, TestConfigs.ip("198.18.0.10"), TestConfigs.ip("2001:db8::1")]
        for podIP in pods {
            for hostIP in hostIPs where hostIP == nil || hostIP!.family == podIP.family {
                for transport in TransportProtocol.allCases {
                    for port: UInt16 in [0, 1, 9, 10, 99, 100, 999, 1000, 8080, 9999, 10000, 30000, 65535] {
                        let mapping = HostPortMapping(podIP: podIP, transport: transport, hostPort: port,
                                                      containerPort: 65535 - port, hostIP: hostIP)
                        let text = [podIP.family.rawValue, transport.rawValue, String(port), hostIP?.description ?? "",
                                    podIP.description, String(65535 - port)].joined(separator: "/")
                        #expect(HostPortRules.chainKey(for: mapping) == Array(text.utf8))
                        #expect(HostPortRules.chainName(for: mapping).rawValue
                                == "PODNET-HP-" + Base32.encode(SHA256.digest(text)).prefix(16))
                    }
                }
            }
        }
    }

    /// kube-proxy's KUBE-MARK-MASQ bit (0x4000) is kube-proxy's: podnet neither sets
    /// nor matches a packet mark, and masquerades exactly each host-port pod's
    /// traffic to itself, once per pod however many host ports it has.
    @Test func hairpinIsMatchedByAddressesWithoutAMark() throws {
        var second = Self.webV4
        second.hostPort = 8081
        let other = HostPortMapping(podIP: TestConfigs.ip("10.244.1.20"), transport: .udp, hostPort: 53, containerPort: 53)
        let lines = try Compiler.compile(TestConfigs.node([.ipv4], hostPorts: [Self.webV4, second, other]))
            .saveLines(.ipv4, .nat)
        #expect(!lines.contains { $0.contains("mark") || $0.contains("MARK") })
        #expect(lines.filter { $0.hasPrefix("-A PODNET-HAIRPIN ") } == [
            "-A PODNET-HAIRPIN -s 10.244.1.10/32 -d 10.244.1.10/32 -m comment --comment \"podnet: SNAT for hairpin host-port traffic\" -j MASQUERADE",
            "-A PODNET-HAIRPIN -s 10.244.1.20/32 -d 10.244.1.20/32 -m comment --comment \"podnet: SNAT for hairpin host-port traffic\" -j MASQUERADE",
        ])
        let v6 = try Compiler.compile(TestConfigs.node([.ipv6], hostPorts: [Self.dnsV6])).saveLines(.ipv6, .nat)
        #expect(v6.contains("-A PODNET-HAIRPIN -s fd00:10:244:1::a/128 -d fd00:10:244:1::a/128 -m comment --comment \"podnet: SNAT for hairpin host-port traffic\" -j MASQUERADE"))
        #expect(try !Compiler.compile(TestConfigs.node([.ipv4])).saveLines(.ipv4, .nat).contains { $0.contains("HAIRPIN") })
    }
}

@Suite struct LinkAndRouteTests {
    @Test func bridgeFollowsHairpinMode() throws {
        #expect(try Compiler.compile(TestConfigs.node(hairpin: .hairpinVeth)).bridge?.hairpinPorts == true)
        #expect(try Compiler.compile(TestConfigs.node(hairpin: .none)).bridge?.hairpinPorts == false)
        #expect(try Compiler.compile(TestConfigs.node()).bridge?.promiscuous == false)
    }

    @Test func promiscuousBridgeIsAnInternalError() {
        #expect(throws: CompileError.unsupportedHairpinMode(.promiscuousBridge)) {
            try Compiler.compile(TestConfigs.node(hairpin: .promiscuousBridge))
        }
    }

    @Test func bridgeMACIsStableLocallyAdministeredUnicastAndPerNode() throws {
        let mac = try #require(try Compiler.compile(TestConfigs.node()).bridge?.macAddress)
        #expect(mac == (try Compiler.compile(TestConfigs.node()).bridge?.macAddress))
        #expect(mac.bytes[0] & 0x02 == 0x02, "locally administered")
        #expect(mac.bytes[0] & 0x01 == 0, "unicast")
        var other = TestConfigs.node()
        other.node.name = "node-b"
        #expect(try Compiler.compile(other).bridge?.macAddress != mac)
        #expect(Array(SHA256.digest("node-a/cbr0").prefix(6)).dropFirst() == mac.bytes.dropFirst())
    }

    @Test func gatewayAddressesOnTheBridge() throws {
        let state = try Compiler.compile(TestConfigs.node())
        #expect(state.addresses == [
            InterfaceAddress(interface: "cbr0", address: TestConfigs.ip("10.244.1.1"), prefixLength: 24),
            InterfaceAddress(interface: "cbr0", address: TestConfigs.ip("fd00:10:244:1::1"), prefixLength: 64),
        ])
    }

    /// Forwarding and bridge-nf-call on for each family; route_localnet on the bridge
    /// off, since there is no IPv4 host port.
    @Test(arguments: [
        ([IPFamily.ipv4], ["net/bridge/bridge-nf-call-iptables=1", "net/ipv4/conf/cbr0/route_localnet=0",
                           "net/ipv4/ip_forward=1"]),
        ([.ipv6], ["net/bridge/bridge-nf-call-ip6tables=1", "net/ipv4/conf/cbr0/route_localnet=0",
                   "net/ipv6/conf/all/forwarding=1"]),
        ([.ipv4, .ipv6], ["net/bridge/bridge-nf-call-ip6tables=1", "net/bridge/bridge-nf-call-iptables=1",
                          "net/ipv4/conf/cbr0/route_localnet=0", "net/ipv4/ip_forward=1",
                          "net/ipv6/conf/all/forwarding=1"]),
    ])
    func sysctlsPerFamily(families: [IPFamily], settings: [String]) throws {
        let state = try Compiler.compile(TestConfigs.node(families))
        #expect(state.sysctls.map { "\($0.key.path)=\($0.value)" } == settings)
    }

    @Test func routesToPeersViaTheirNodeIPsOfTheFamily() throws {
        var config = TestConfigs.node(peers: [TestConfigs.peerC, TestConfigs.peerB])
        config.routeTable = 100
        config.routeProtocol = 80
        let state = try Compiler.compile(config)
        // IPv4 through each peer's nexthop (RouteForm.preferred), IPv6 classic.
        let idB = NexthopIDs.derived(NexthopOwner(peer: TestConfigs.peerB.name, family: .ipv4))
        let idC = NexthopIDs.derived(NexthopOwner(peer: TestConfigs.peerC.name, family: .ipv4))
        #expect(state.routes.map(IpCommandText.routeForTests) == [
            "10.244.2.0/24 nhid \(idB) table 100 proto 80",
            "10.244.3.0/24 nhid \(idC) table 100 proto 80",
            "fd00:10:244:2::/64 via 2001:db8:56::11 table 100 proto 80",
            "fd00:10:244:3::/64 via 2001:db8:56::12 table 100 proto 80",
        ])
        #expect(state.nexthops.map { "\($0.id) \($0.owner) via \($0.gateway) proto \($0.proto)" }.sorted() == [
            "\(idB) \(TestConfigs.peerB.name)/ipv4 via 198.18.0.11 proto 80",
            "\(idC) \(TestConfigs.peerC.name)/ipv4 via 198.18.0.12 proto 80",
        ].sorted())
        let ipv4Only = try Compiler.compile(TestConfigs.node([.ipv4], peers: [TestConfigs.peerB]))
        #expect(ipv4Only.routes.map(\.destination) == [TestConfigs.net("10.244.2.0/24")],
                "no IPv6 pods here, so no IPv6 peer routes")
    }

    @Test func podAttachments() throws {
        let pods = [
            PodSpec(name: "web-1", netnsPath: "/run/netns/web-1",
                    ips: [TestConfigs.ip("fd00:10:244:1::a"), TestConfigs.ip("10.244.1.10")]),
            PodSpec(name: "a-pod-with-a-rather-long-name-indeed", netnsPath: "/proc/42/ns/net",
                    ips: [TestConfigs.ip("10.244.1.11")]),
        ]
        let state = try Compiler.compile(TestConfigs.node(pods: pods))
        #expect(state.pods.map(\.name) == ["a-pod-with-a-rather-long-name-indeed", "web-1"])
        let web = state.pods[1]
        #expect(web.hostInterface == InterfaceNaming.hostInterface(podName: "web-1"))
        #expect(web.podInterface == "eth0")
        #expect(web.addresses == [
            InterfaceAddress(interface: "eth0", address: TestConfigs.ip("10.244.1.10"), prefixLength: 24),
            InterfaceAddress(interface: "eth0", address: TestConfigs.ip("fd00:10:244:1::a"), prefixLength: 64),
        ])
        #expect(web.gateways == [TestConfigs.ip("10.244.1.1"), TestConfigs.ip("fd00:10:244:1::1")])
        #expect(state.pods[0].gateways == [TestConfigs.ip("10.244.1.1")])
        for pod in state.pods {
            #expect(pod.hostInterface.utf8.count <= 15)
            #expect(pod.hostInterface.hasPrefix("veth") && pod.hostInterface.count == 12)
            #expect(pod.hostInterface.dropFirst(4).allSatisfy { $0.isHexDigit })
        }
        #expect(state.pods[0].hostInterface != web.hostInterface)
    }

    /// pod-42025 and pod-87981 share the first 32 bits of their SHA-256 (found offline
    /// by a birthday search): two pods must never be given one host interface.
    @Test func hostInterfaceCollisionIsRefused() {
        let pods = ["pod-87981", "pod-42025"].enumerated().map { index, name in
            PodSpec(name: name, netnsPath: "/run/netns/\(name)", ips: [TestConfigs.ip("10.244.1.\(10 + index)")])
        }
        #expect(InterfaceNaming.hostInterface(podName: "pod-42025") == "veth0ca5d914")
        #expect(throws: CompileError.hostInterfaceCollision(name: "veth0ca5d914", pods: ["pod-42025", "pod-87981"])) {
            try Compiler.compile(TestConfigs.node(pods: pods))
        }
    }

    @Test func vethNameIsSHA256OfThePodName() {
        let hex = SHA256.digest("web-1").prefix(4).map { String($0, radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        #expect(InterfaceNaming.hostInterface(podName: "web-1") == "veth" + hex)
    }
}

@Suite struct DeterminismTests {
    static let mappings = [
        HostPortMapping(podIP: TestConfigs.ip("10.244.1.10"), transport: .tcp, hostPort: 8080, containerPort: 80),
        HostPortMapping(podIP: TestConfigs.ip("10.244.1.11"), transport: .udp, hostPort: 53, containerPort: 53),
        HostPortMapping(podIP: TestConfigs.ip("fd00:10:244:1::a"), transport: .sctp, hostPort: 3868, containerPort: 3868),
        HostPortMapping(podIP: TestConfigs.ip("10.244.1.12"), transport: .tcp, hostPort: 443, containerPort: 8443,
                        hostIP: TestConfigs.ip("198.18.0.10")),
    ]
    static let pods = [
        PodSpec(name: "b", netnsPath: "/run/netns/b", ips: [TestConfigs.ip("10.244.1.20")]),
        PodSpec(name: "a", netnsPath: "/run/netns/a", ips: [TestConfigs.ip("10.244.1.21")]),
    ]

    /// The order of lists in the config does not change a byte of the output.
    @Test func inputOrderDoesNotMatter() throws {
        let forward = TestConfigs.node(nonMasquerade: [TestConfigs.net("10.0.0.0/8"), TestConfigs.net("192.168.0.0/16")],
                                       peers: [TestConfigs.peerB, TestConfigs.peerC],
                                       hostPorts: Self.mappings, pods: Self.pods)
        let reversed = TestConfigs.node(nonMasquerade: [TestConfigs.net("192.168.0.0/16"), TestConfigs.net("10.0.0.0/8")],
                                        peers: [TestConfigs.peerC, TestConfigs.peerB],
                                        hostPorts: Self.mappings.reversed(), pods: Self.pods.reversed())
        let first = try Compiler.compile(forward), second = try Compiler.compile(reversed)
        #expect(first == second)
        #expect(StateRenderer.render(first) == StateRenderer.render(second))
    }
}

extension IpCommandText {
    /// A route's destination, how it gets there, table and protocol.
    static func routeForTests(_ route: RouteState) -> String {
        let via = switch route.via {
        case .gateway(let gateway): "via \(gateway)"
        case .nexthop(let id): "nhid \(id)"
        }
        return "\(route.destination) \(via) table \(route.table) proto \(route.proto)"
    }
}
