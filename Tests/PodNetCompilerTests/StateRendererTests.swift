import Testing
import PodNet
@testable import PodNetCompiler

@Suite struct StateRendererTests {
    static let hostPort = HostPortMapping(podIP: TestConfigs.ip("10.244.1.10"), transport: .tcp, hostPort: 8080,
                                          containerPort: 80)

    @Test func restoreTextInsertsTopJumpsAppendsForwardAndDeclaresOnlyPodnetChains() throws {
        let state = try Compiler.compile(TestConfigs.node([.ipv4], hostPorts: [Self.hostPort]))
        let lines = StateRenderer.restoreText(state, family: .ipv4).split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("*") || $0 == "COMMIT" } == ["*filter", "COMMIT", "*nat", "COMMIT"])
        #expect(lines.filter { $0.hasPrefix(":") }.allSatisfy { $0.hasPrefix(":PODNET-") && $0.hasSuffix(" - [0:0]") })
        #expect(lines.filter { $0.hasPrefix("-I ") } == [
            "-I INPUT 1 -m comment --comment \"podnet: input rules\" -j PODNET-INPUT",
            "-I PREROUTING 1 -m comment --comment \"podnet: prerouting rules\" -j PODNET-PREROUTING",
            "-I OUTPUT 1 -m comment --comment \"podnet: output rules\" -j PODNET-OUTPUT",
            "-I POSTROUTING 1 -m comment --comment \"podnet: postrouting rules\" -j PODNET-POSTROUTING",
        ])
        #expect(lines.contains("-A FORWARD -m comment --comment \"podnet: forward rules\" -j PODNET-FORWARD"))
        // In each table, every chain is declared before any rule refers to it.
        var seenRule = false
        for line in lines {
            if line.hasPrefix("*") { seenRule = false }
            if line.hasPrefix("-") { seenRule = true }
            #expect(!(seenRule && line.hasPrefix(":")), "declaration after a rule: \(line)")
        }
        #expect(StateRenderer.restoreText(state, family: .ipv6) == "", "no IPv6 pod CIDR, nothing to load")
    }

    @Test func renderShowsPlacementAndEverySection() throws {
        let config = TestConfigs.node([.ipv4], peers: [TestConfigs.peerB],
                                      pods: [PodSpec(name: "web-1", netnsPath: "/run/netns/web-1",
                                                     ips: [TestConfigs.ip("10.244.1.10")])])
        let state = try Compiler.compile(config)
        let text = StateRenderer.render(state)
        let veth = InterfaceNaming.hostInterface(podName: "web-1")
        let bridgeTemporary = UnfinishedLink.temporaryName(for: "cbr0"), vethTemporary = UnfinishedLink.temporaryName(for: veth)
        let marker = try #require(state.pods.first.map { PodMarker($0).alias })
        let mac = try #require(state.bridge?.macAddress)
        let podMAC = InterfaceNaming.podMAC(addresses: [IPAddress("10.244.1.10")!])
        let nexthop = NexthopIDs.derived(NexthopOwner(peer: TestConfigs.peerB.name, family: .ipv4))
        #expect(text == """
            # ipv4 iptables: podnet's chains and jumps, in iptables-legacy-save syntax
            *filter
            :PODNET-FORWARD - [0:0]
            # jump appended to FORWARD
            -A FORWARD -m comment --comment "podnet: forward rules" -j PODNET-FORWARD
            -A PODNET-FORWARD -s 10.244.0.0/16 -m comment --comment "podnet: forward traffic from pods" -j ACCEPT
            -A PODNET-FORWARD -d 10.244.0.0/16 -m comment --comment "podnet: forward traffic to pods" -j ACCEPT
            COMMIT
            *nat
            :PODNET-MASQUERADE - [0:0]
            :PODNET-POSTROUTING - [0:0]
            # jump at the top of POSTROUTING
            -A POSTROUTING -m comment --comment "podnet: postrouting rules" -j PODNET-POSTROUTING
            -A PODNET-MASQUERADE -d 10.244.0.0/16 -m comment --comment "podnet: no SNAT to non-masquerade CIDRs" -j RETURN
            -A PODNET-MASQUERADE -m comment --comment "podnet: no SNAT to local addresses" -m addrtype --dst-type LOCAL -j RETURN
            -A PODNET-MASQUERADE -m comment --comment "podnet: SNAT for outbound traffic from pods" -j MASQUERADE
            -A PODNET-POSTROUTING -s 10.244.1.0/24 -m comment --comment "podnet: SNAT for outbound traffic from pods" -j PODNET-MASQUERADE
            COMMIT
            # links
            ip link add \(bridgeTemporary) mtu auto address \(mac) type bridge
            ip link set \(bridgeTemporary) name cbr0 alias "podnet: managed bridge" promisc off up
            # hairpin: on for every port of cbr0
            # addresses
            ip addr add 10.244.1.1/24 dev cbr0
            # sysctls
            sysctl -w net.bridge.bridge-nf-call-iptables=1
            sysctl -w net.ipv4.conf.cbr0.route_localnet=0
            sysctl -w net.ipv4.ip_forward=1
            # nexthops
            ip nexthop replace id \(nexthop) via 198.18.0.11 dev auto proto 111
            # routes
            ip route replace 10.244.2.0/24 nhid \(nexthop) proto 111
            # pods
            # pod web-1
            ip link add \(vethTemporary) mtu auto type veth peer name eth0 mtu auto address \(podMAC) netns /run/netns/web-1
            nsenter --net=/run/netns/web-1 ip addr add 10.244.1.10/24 dev eth0
            nsenter --net=/run/netns/web-1 ip link set eth0 up
            nsenter --net=/run/netns/web-1 ip route replace default via 10.244.1.1 dev eth0
            ip link set \(vethTemporary) name \(veth) alias "\(marker)" master cbr0 up
            bridge link set dev \(veth) hairpin on

            """)
    }

    @Test func emptySectionsSaySo() throws {
        let state = try Compiler.compile(TestConfigs.node([.ipv6], masquerade: false, forwardAccept: false))
        let text = StateRenderer.render(state)
        #expect(text.hasPrefix("# ipv6 ip6tables: podnet's chains and jumps, in iptables-legacy-save syntax\n# (none)\n"))
        #expect(text.contains("# nexthops\n# (none)\n# routes\n# (none)\n# pods\n# (none)\n"))
    }

    @Test func routeTableNames() throws {
        var config = TestConfigs.node([.ipv4], peers: [TestConfigs.peerB])
        config.routeTable = 100
        #expect(StateRenderer.render(try Compiler.compile(config))
            .contains("ip route replace 10.244.2.0/24 nhid \(NexthopIDs.derived(NexthopOwner(peer: TestConfigs.peerB.name, family: .ipv4))) proto 111 table 100\n"))
    }
}
