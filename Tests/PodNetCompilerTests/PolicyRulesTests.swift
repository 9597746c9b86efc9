import Testing
import PodNet
@testable import PodNetCompiler
import PodNetConfig
import PodNetTestSupport

/// The rendering of policies into chains and sets, on the desired state alone.
@Suite struct PolicyRulesTests {
    static let config = try! ConfigLoader.load(configText: """
        node:
          name: node-a
          podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]
        cluster:
          podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
        """, configName: "node.yaml").config

    static func pod(_ index: Int, labels: Labels, node: String = "node-a") -> ClusterPod {
        ClusterPod(namespace: "x", name: "p\(index)", labels: labels, nodeName: node,
                   ips: [IPAddress("10.244.1.\(index + 10)")!, IPAddress("fd00:10:244:1::\(index + 10)")!],
                   ports: [ContainerPort(name: "web", port: index % 2 == 0 ? 80 : 8080, transport: .tcp)])
    }

    static func policy(_ index: Int) -> NetworkPolicy {
        NetworkPolicy(namespace: "x", name: "np\(index)", podSelector: LabelSelector(matchLabels: ["app": "a\(index % 5)"]),
                      isolatesIngress: true, isolatesEgress: index % 2 == 0,
                      ingress: [PolicyRule(peers: [.pods(podSelector: LabelSelector(matchLabels: ["role": "r\(index)"]), namespaceSelector: nil),
                                                   .ipBlock(cidr: try! IPNetwork(parsing: "192.0.2.0/24"),
                                                            except: [try! IPNetwork(parsing: "192.0.2.0/28")])],
                                           ports: [PolicyPort(port: .named("web")), PolicyPort(transport: .udp, port: .range(5000, 5010))])],
                      egress: [PolicyRule(ports: [PolicyPort(transport: .udp, port: .number(53))])])
    }

    static func state(pods: Int, policies: Int, labels: (Int) -> Labels = { ["app": "a\($0 % 5)", "role": "r\($0 % 7)"] })
        throws -> DesiredState {
        let cluster = ClusterState(namespaces: [ClusterNamespace(name: "x")],
                                   pods: (0..<pods).map { pod($0, labels: labels($0)) }, policies: (0..<policies).map(policy))
        return try Compiler.compile(config, cluster: cluster)
    }

    static func ruleCount(_ state: DesiredState) -> Int {
        state.tables.reduce(0) { $0 + $1.chains.reduce(0) { $0 + $1.rules.count } }
    }

    @Test func noPoliciesNoRulesNoSets() throws {
        let without = try Compiler.compile(Self.config)
        let withPods = try Self.state(pods: 20, policies: 0)
        #expect(withPods == without)
        #expect(withPods.ipsets.isEmpty)
    }

    /// The wait set (`PolicyWait`) holds the runtime's attachments of pods of Kubernetes
    /// the List does not place: not the config's pods, not a pod the List has at the
    /// attachment's address, nor one it has without an address (it stands at the
    /// attachment's); one it lacks or has at another address waits. Its name sorts after
    /// every other policy set's, so that an apply's set edits (in name order) put a pod in
    /// its policy sets before its wait ends.
    @Test func theWaitSetHoldsTheAttachmentsTheListDoesNotPlace() throws {
        var config = Self.config
        func attachment(_ name: String, _ last: Int, kubernetes: Bool = true) -> PodSpec {
            PodSpec(name: "cni/\(name)/eth0", netnsPath: "/run/netns/\(name)",
                    ips: [IPAddress("10.244.1.\(last)")!, IPAddress("fd00:10:244:1::\(last)")!],
                    kubernetesPod: kubernetes ? KubernetesPodName(namespace: "x", name: name) : nil)
        }
        config.pods += [attachment("placed", 100), attachment("unreported", 101), attachment("absent", 102),
                        attachment("stale", 103), attachment("podman", 104, kubernetes: false)]
        var unreported = Self.pod(1, labels: ["app": "a1"])
        unreported.name = "unreported"
        unreported.ips = []
        unreported.phase = .pending
        var placed = Self.pod(2, labels: ["app": "a2"])
        placed.name = "placed"
        placed.ips = [IPAddress("10.244.1.100")!, IPAddress("fd00:10:244:1::100")!]
        var stale = Self.pod(3, labels: ["app": "a3"])
        stale.name = "stale"
        let cluster = ClusterState(namespaces: [ClusterNamespace(name: "x")], pods: [Self.pod(0, labels: ["app": "a0"]), unreported, placed, stale],
                                   policies: [Self.policy(1)])
        let state = try Compiler.compile(config, cluster: cluster)
        let wait4 = try #require(state.ipsets.first { $0.name == PolicyWait.setName(.ipv4) })
        #expect(wait4.entries == Set(["10.244.1.102", "10.244.1.103"].map { IPSetEntry(host: IPAddress($0)!) }))
        #expect(state.ipsets.first { $0.name == PolicyWait.setName(.ipv6) }?.entries.count == 2)
        // The unreported pod stands at its attachment's address: np1 (app a1) isolates it.
        let isolated = try #require(state.ipsets.first { $0.name.hasPrefix("PODNET-II4-") })
        #expect(isolated.entries.contains(IPSetEntry(host: IPAddress("10.244.1.101")!)))
        let others = state.ipsets.map(\.name).filter { !$0.hasPrefix("PODNET-W") }
        #expect(!others.isEmpty && others.allSatisfy { $0 < PolicyWait.setName(.ipv4) && $0 < PolicyWait.setName(.ipv6) })
    }

    @Test func rulesGrowWithPoliciesNotPods() throws {
        let few = try Self.state(pods: 10, policies: 4), many = try Self.state(pods: 200, policies: 4)
        #expect(Self.ruleCount(few) == Self.ruleCount(many))
        #expect(few.tables == many.tables)
        let more = try Self.state(pods: 200, policies: 8)
        #expect(Self.ruleCount(more) > Self.ruleCount(many))
        // Linear in policies: each policy of this shape adds the same number of rules.
        let twelve = try Self.state(pods: 200, policies: 12)
        #expect(Self.ruleCount(twelve) - Self.ruleCount(more) == Self.ruleCount(more) - Self.ruleCount(many))
    }

    @Test func aPodAddedOrRelabelledChangesSetMembersOnly() throws {
        let before = try Self.state(pods: 30, policies: 6)
        let added = try Self.state(pods: 31, policies: 6)
        let relabelled = try Self.state(pods: 30, policies: 6) { $0 == 3 ? ["app": "a4", "role": "r1"] : ["app": "a\($0 % 5)", "role": "r\($0 % 7)"] }
        for after in [added, relabelled] {
            #expect(after.tables == before.tables)
            #expect(Set(after.ipsets.map(\.name)) == Set(before.ipsets.map(\.name)))
            #expect(after.ipsets != before.ipsets)
        }
    }

    @Test func bothFamiliesGetTheirOwnSets() throws {
        let state = try Self.state(pods: 6, policies: 1)
        let families = Set(state.ipsets.map(\.family))
        #expect(families == [.ipv4, .ipv6])
        #expect(state.ipsets.allSatisfy { $0.name.count <= IPSetState.maximumNameLength && IPSetState.isOwned($0.name) })
        // The IPv6 block of an IPv4 ipBlock is left out: no hash:net set in IPv6.
        #expect(state.ipsets.filter { $0.type == .hashNet }.map(\.family) == [.ipv4])
        let v6 = try #require(state.table(TableID(.ipv6, .filter)))
        let policy = try #require(v6.chains.first { $0.name == ChainName("PODNET-POLICY") })
        #expect(IptablesSaveText.render(policy.rules[0]).hasPrefix("-s fe80::/10"))
        // A named port resolving to two numbers on the targets (pods 0 and 5) gives two rules.
        let ingress = try #require(v6.chains.first { $0.name == ChainName("PODNET-INGRESS") }).rules.map(IptablesSaveText.render)
        #expect(ingress.filter { $0.contains("--dport 80 ") }.count == 1)
        #expect(ingress.filter { $0.contains("--dport 8080 ") }.count == 1)
    }

    @Test func everywhereIsTwoHalvesInAHashNetSet() throws {
        // The kernel refuses a /0 in hash:net ("invalid prefix length"): egress to the
        // internet (0.0.0.0/0 except the private ranges) would fail to apply.
        let blocks = ["0.0.0.0/0", "::/0"].map { try! IPNetwork(parsing: $0) }
        let policy = NetworkPolicy(namespace: "x", name: "internet", isolatesIngress: false, isolatesEgress: true,
                                   egress: [PolicyRule(peers: [.ipBlock(cidr: blocks[0], except: [try IPNetwork(parsing: "10.0.0.0/8")]),
                                                               .ipBlock(cidr: blocks[1], except: [])])])
        let cluster = ClusterState(namespaces: [ClusterNamespace(name: "x")], pods: [Self.pod(0, labels: [:])],
                                   policies: [policy])
        let sets = try Compiler.compile(Self.config, cluster: cluster).ipsets.filter { $0.type == .hashNet }
        let entries = Set(sets.flatMap(\.entries).map(\.description))
        #expect(entries == ["0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8 nomatch", "::/1", "8000::/1"])
        #expect(sets.allSatisfy { $0.entries.allSatisfy { $0.network.prefixLength > 0 } })
    }

    @Test func setNamesAreStableFromRunToRun() throws {
        // Labels are dictionaries: the names must not follow their (per-process) order.
        #expect(try Self.state(pods: 5, policies: 3).ipsets.map(\.name).sorted()
            == (try Self.state(pods: 5, policies: 3)).ipsets.map(\.name).sorted())
        let peer = PolicyPeer.pods(podSelector: LabelSelector(matchLabels: ["b": "2", "a": "1", "c": "3"]), namespaceSelector: nil)
        #expect(PolicyRules.canonical(peer, policyNamespace: "x") == "pods {a=1;b=2;c=3} in namespace x")
    }
}

/// The compiled chains run as the kernel would run them for one TCP packet, against
/// `PolicyEvaluation.allows`: what the rules let through is what the API's semantics say.
@Suite struct PolicyRulesSemanticsTests {
    /// PODNET-EGRESS then PODNET-INGRESS (PODNET-POLICY's order) for a new connection:
    /// a RETURN goes on to the next chain, a REJECT refuses.
    static func rulesAllow(_ state: DesiredState, source: IPAddress, destination: IPAddress, port: UInt16) -> Bool {
        let filter = state.table(TableID(.ipv4, .filter))!
        let sets = Dictionary(state.ipsets.map { ($0.name, $0.entries) }, uniquingKeysWith: { first, _ in first })
        func holds(_ match: SetMatch) -> Bool {
            let address = match.directions[0] == .source ? source : destination
            let member = sets[match.set]!.contains(IPSetEntry(host: address))
            return member != match.negated
        }
        for chain in [ChainName.policyEgress, ChainName.policyIngress] {
            let rules = filter.chains.first { $0.name == chain }!.rules
            ruleLoop: for rule in rules {
                for match in rule.matches {
                    switch match {
                    case .comment: continue
                    case .set(let set): if !holds(set) { continue ruleLoop }
                    case .tcp(let tcp):
                        if let ports = tcp.ports.destinationPorts, !(ports.first...ports.last).contains(port) { continue ruleLoop }
                    case .udp: continue ruleLoop
                    default: Issue.record("a match the test does not run: \(match)")
                    }
                }
                if case .returnFromChain = rule.target { break ruleLoop }
                return false
            }
        }
        return true
    }

    @Test func theRulesAllowWhatTheSemanticsAllowForNamedPortsOfSeveralPeers() throws {
        let config = try ConfigLoader.load(configText: """
            node: {name: node-a, podCIDRs: [10.244.1.0/24]}
            cluster: {podCIDRs: [10.244.0.0/16]}
            """, configName: "node.yaml").config
        var random = SplitMix(seed: 11)
        func pick(_ count: Int) -> Int { Int(random.next() % UInt64(count)) }
        var checked = 0
        for _ in 0..<60 {
            let pods = (0..<12).map { index in
                ClusterPod(namespace: "x", name: "p\(index)", labels: ["app": "a\(pick(3))"],
                           nodeName: pick(2) == 0 ? "node-a" : "node-b",
                           ips: [IPAddress("10.244.\(pick(2) + 1).\(index + 10)")!],
                           ports: [ContainerPort(name: "web", port: [80, 81, 8080][pick(3)], transport: .tcp)])
            }
            let peers: [PolicyPeer] = (0..<(1 + pick(3))).map { _ in
                .pods(podSelector: LabelSelector(matchLabels: ["app": "a\(pick(3))"]), namespaceSelector: nil)
            }
            let direction = pick(2)
            let rule = PolicyRule(peers: peers, ports: [PolicyPort(port: .named("web"))])
            let policy = NetworkPolicy(namespace: "x", name: "np", podSelector: LabelSelector(matchLabels: ["app": "a\(pick(3))"]),
                                       isolatesIngress: direction == 0, isolatesEgress: direction == 1,
                                       ingress: direction == 0 ? [rule] : [], egress: direction == 1 ? [rule] : [])
            let cluster = ClusterState(namespaces: [ClusterNamespace(name: "x")], pods: pods, policies: [policy])
            let state = try Compiler.compile(config, cluster: cluster)
            let evaluation = PolicyEvaluation(cluster)
            for source in pods {
                for destination in pods where source != destination {
                    // The node enforces its own pods' side: the egress of its sources, the
                    // ingress of its destinations (the other end is its own node's).
                    let enforcedHere = direction == 1 ? source.nodeName == "node-a" : destination.nodeName == "node-a"
                    guard enforcedHere else { continue }
                    for port: UInt16 in [80, 81, 8080] {
                        let semantics = evaluation.allows(from: .pod(source), sourceAddress: source.ips[0], to: .pod(destination),
                                                          destinationAddress: destination.ips[0], transport: .tcp, port: port)
                        let rules = Self.rulesAllow(state, source: source.ips[0], destination: destination.ips[0], port: port)
                        #expect(rules == semantics, "\(source.name) -> \(destination.name):\(port), \(direction == 1 ? "egress" : "ingress") peers \(peers)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 1000)
    }
}
