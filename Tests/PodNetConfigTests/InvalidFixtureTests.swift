import Testing
import PodNetConfig

/// One bad-input fixture: the one problem it holds, where, and what the message says.
struct InvalidFixture: Sendable, CustomTestStringConvertible {
    var name: String
    var fieldPath: String
    var fragment: String
    var line: Int? = nil
    /// The problem is in the fixture's NodeList (NAME.nodes.json), not in its config.
    var inNodeList = false
    var testDescription: String { name }

    var problemFile: String {
        let file = inNodeList ? name.replacingOccurrences(of: ".yaml", with: ".nodes.json") : name
        return Fixtures.path("invalid/" + file)
    }
}

@Suite struct InvalidFixtureTests {
    static let cases: [InvalidFixture] = [
        .init(name: "yaml-syntax.yaml", fieldPath: "", fragment: "syntax error", line: 6),
        .init(name: "json-syntax.json", fieldPath: "", fragment: "syntax error", line: 5),
        .init(name: "duplicate-key.yaml", fieldPath: "", fragment: "duplicate key masquerade", line: 7),
        .init(name: "empty.yaml", fieldPath: "", fragment: "the file is empty"),
        .init(name: "unknown-key.yaml", fieldPath: "masqurade", fragment: "unknown key (did you mean masquerade?)", line: 7),
        .init(name: "wrong-type.yaml", fieldPath: "cluster.podCIDRs",
              fragment: "expected a list of CIDR strings, got a mapping", line: 7),
        .init(name: "missing-required-key.yaml", fieldPath: "cluster", fragment: "required"),
        .init(name: "missing-node-pod-cidrs.yaml", fieldPath: "node.podCIDRs", fragment: "pod CIDRs are unknown"),
        .init(name: "unsupported-version.yaml", fieldPath: "version", fragment: "2 is not supported (this podnet reads version 1)", line: 1),
        .init(name: "bad-ip.yaml", fieldPath: "peers[0].nodeIPs[0]", fragment: "\"198.18.0.300\" is not an IP address", line: 9),
        .init(name: "bad-cidr.yaml", fieldPath: "cluster.nonMasqueradeCIDRs[0]", fragment: "prefix length outside 0...32"),
        .init(name: "host-bits-set.yaml", fieldPath: "peers[0].podCIDRs[0]",
              fragment: "\"10.244.2.5/24\" has host bits set (did you mean 10.244.2.0/24?)", line: 10),
        .init(name: "node-two-pod-cidrs-per-family.yaml", fieldPath: "node.podCIDRs[1]",
              fragment: "a second IPv4 pod CIDR"),
        .init(name: "peer-two-pod-cidrs-per-family.yaml", fieldPath: "peers[0].podCIDRs[1]",
              fragment: "a second IPv4 pod CIDR"),
        .init(name: "peer-two-node-ips-per-family.yaml", fieldPath: "peers[0].nodeIPs[1]",
              fragment: "a second IPv4 node IP"),
        .init(name: "node-pod-cidr-outside-cluster.yaml", fieldPath: "node.podCIDRs[0]",
              fragment: "10.245.1.0/24 is outside every cluster pod CIDR"),
        .init(name: "node-pod-cidr-too-small.yaml", fieldPath: "node.podCIDRs[0]",
              fragment: "10.244.1.0/31 has no address left for a pod", line: 4),
        .init(name: "peer-overlaps-node.yaml", fieldPath: "peers[0].podCIDRs[0]",
              fragment: "overlaps this node's pod CIDR 10.244.1.0/24 (node.podCIDRs[0])"),
        .init(name: "peers-overlap.yaml", fieldPath: "peers[1].podCIDRs[0]",
              fragment: "overlaps node-b's pod CIDR fd00:10:244:2::/64 (peers[0].podCIDRs[0])"),
        .init(name: "duplicate-peer-name.yaml", fieldPath: "peers[1].name", fragment: "duplicate peer name node-b"),
        .init(name: "peer-named-like-node.yaml", fieldPath: "peers[0].name", fragment: "is this node's name"),
        .init(name: "peer-without-node-ip-for-family.yaml", fieldPath: "peers[0].nodeIPs", fragment: "no IPv6 node IP"),
        .init(name: "invalid-node-name.yaml", fieldPath: "node.name", fragment: "is not a DNS-1123 subdomain"),
        .init(name: "bridge-name-too-long.yaml", fieldPath: "bridge.name", fragment: "at most 15"),
        .init(name: "bridge-name-invalid-character.yaml", fieldPath: "bridge.name", fragment: "it contains ':'"),
        .init(name: "mtu-out-of-range.yaml", fieldPath: "bridge.mtu", fragment: "70000 is out of range (68..65535)"),
        .init(name: "mtu-below-ipv6-minimum.yaml", fieldPath: "bridge.mtu", fragment: "below 1280"),
        .init(name: "hairpin-mode-unknown.yaml", fieldPath: "bridge.hairpinMode", fragment: "did you mean hairpin-veth?"),
        .init(name: "hairpin-mode-promiscuous-bridge.yaml", fieldPath: "bridge.hairpinMode",
              fragment: "no legacy ebtables"),
        .init(name: "route-protocol-reserved.yaml", fieldPath: "routeProtocol", fragment: "4 is reserved by the kernel"),
        .init(name: "route-table-local.yaml", fieldPath: "routeTable", fragment: "local table"),
        .init(name: "port-out-of-range.yaml", fieldPath: "hostPorts[0].hostPort", fragment: "70000 is out of range (1..65535)"),
        .init(name: "container-port-zero.yaml", fieldPath: "hostPorts[0].containerPort", fragment: "0 is out of range (1..65535)"),
        .init(name: "host-port-protocol-unknown.yaml", fieldPath: "hostPorts[0].protocol", fragment: "did you mean tcp?"),
        .init(name: "duplicate-host-port.yaml", fieldPath: "hostPorts[1].hostPort",
              fragment: "tcp/8080 on 198.18.0.10 is already taken by hostPorts[0].hostPort"),
        .init(name: "host-port-conflicts-with-every-address.yaml", fieldPath: "hostPorts[1].hostPort",
              fragment: "(on every local IPv4 address)"),
        .init(name: "host-port-pod-ip-outside-node.yaml", fieldPath: "hostPorts[0].podIP",
              fragment: "10.244.2.10 is outside the node's pod CIDRs"),
        .init(name: "host-ip-family-mismatch.yaml", fieldPath: "hostPorts[0].hostIP", fragment: "is IPv4 but podIP"),
        .init(name: "host-port-pod-mismatch.yaml", fieldPath: "hostPorts[0].pod",
              fragment: "db-0 is not the pod holding 10.244.1.10 (pods[0].name is web-1)"),
        .init(name: "host-port-comment-too-long.yaml", fieldPath: "hostPorts[0].pod", fragment: "over the kernel's limit of 255"),
        .init(name: "pod-ip-outside-node.yaml", fieldPath: "pods[0].ips[0]", fragment: "outside the node's pod CIDRs"),
        .init(name: "pod-ip-family-without-node-cidr.yaml", fieldPath: "pods[0].ips[1]",
              fragment: "the node has no IPv6 pod CIDR"),
        .init(name: "duplicate-pod-ip.yaml", fieldPath: "pods[1].ips[0]", fragment: "duplicate pod IP 10.244.1.10"),
        .init(name: "pod-ip-is-gateway.yaml", fieldPath: "pods[0].ips[0]", fragment: "10.244.1.1 is the gateway"),
        .init(name: "pod-ip-is-network-address.yaml", fieldPath: "pods[0].ips[0]", fragment: "is the network address"),
        .init(name: "pod-ip-is-broadcast.yaml", fieldPath: "pods[0].ips[0]", fragment: "is the broadcast address"),
        .init(name: "pod-two-ips-per-family.yaml", fieldPath: "pods[0].ips[1]", fragment: "a second IPv4 pod IP"),
        .init(name: "duplicate-pod-name.yaml", fieldPath: "pods[1].name", fragment: "duplicate pod name web-1"),
        .init(name: "duplicate-pod-netns.yaml", fieldPath: "pods[1].netns",
              fragment: "duplicate network namespace /run/netns/web-1 (pods[0].netns has it too)", line: 12),
        .init(name: "netns-relative-path.yaml", fieldPath: "pods[0].netns", fragment: "neither an absolute path"),
        .init(name: "nodelist-syntax.yaml", fieldPath: "", fragment: "JSON syntax error: expected ',' or ']', found '{'",
              line: 11, inNodeList: true),
        .init(name: "nodelist-host-bits-set.yaml", fieldPath: "items[1].spec.podCIDRs[0]",
              fragment: "\"10.244.3.1/24\" has host bits set (did you mean 10.244.3.0/24?)", line: 15, inNodeList: true),
        .init(name: "nodelist-peer-conflict.yaml", fieldPath: "peers[0]",
              fragment: "peer node-c differs from the NodeList's "
                + "\(Fixtures.path("invalid/nodelist-peer-conflict.nodes.json")) items[1]: "
                + "podCIDRs [10.244.9.0/24] here, [10.244.3.0/24] there"),
        .init(name: "nodelist-node-pod-cidrs-conflict.yaml", fieldPath: "node.podCIDRs",
              fragment: "[10.244.7.0/24] differ from the NodeList's"),
    ]

    @Test(arguments: cases)
    func reportsItsOneProblem(_ fixture: InvalidFixture) {
        do {
            let loaded = try Fixtures.load("invalid/" + fixture.name)
            Issue.record("accepted: \(loaded.config)")
        } catch {
            #expect(error.diagnostics.count == 1, "\(error)")
            guard let diagnostic = error.diagnostics.first else { return }
            #expect(diagnostic.file == fixture.problemFile)
            #expect(diagnostic.fieldPath == fixture.fieldPath, "\(diagnostic)")
            #expect(diagnostic.message.contains(fixture.fragment), "\(diagnostic)")
            if let line = fixture.line {
                #expect(diagnostic.line == line, "\(diagnostic)")
            }
        }
    }

    /// A new fixture without a case here would only be checked for exit status.
    @Test func everyFixtureHasACase() throws {
        let covered = Set(Self.cases.map(\.name) + ["several-problems.yaml"])
        #expect(Set(try Fixtures.invalidConfigNames()).subtracting(covered) == [])
    }

    @Test func reportsEveryProblemOfAFileInFileOrder() {
        do {
            _ = try Fixtures.load("invalid/several-problems.yaml")
            Issue.record("accepted")
        } catch {
            let found = error.diagnostics.map { "\($0.line ?? 0) \($0.fieldPath)" }
            #expect(found == [
                "9 bridge.name",
                "10 bridge.hairpinMode",
                "12 masquerade",
                "16 peers[0].podCIDRs[0]",
                "17 peers[1].nodeIPs",  // required: reported where the peer starts
                "18 peers[1].nodeIP",
                "22 hostPorts[0].hostPort",
                "27 pods[0].ips[0]",
            ], "\(error)")
        }
    }
}
