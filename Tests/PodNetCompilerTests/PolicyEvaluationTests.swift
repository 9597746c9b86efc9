import Testing
import PodNet
import PodNetCompiler

/// NetworkPolicy's meaning, case by case (NETPOL.md's semantics list), on the
/// evaluated values alone: no rule is rendered here.
@Suite struct PolicyEvaluationTests {
    // Namespaces x (team a), y (team b), z; pods a and b in x and y, c in z.
    static let namespaces = [ClusterNamespace(name: "x", labels: ["team": "a"]),
                             ClusterNamespace(name: "y", labels: ["team": "b"]), ClusterNamespace(name: "z")]
    static func pod(_ namespace: String, _ name: String, _ ip: String, labels: Labels? = nil,
                    phase: PodPhase = .running, hostNetwork: Bool = false) -> ClusterPod {
        ClusterPod(namespace: namespace, name: name, labels: labels ?? ["pod": name], nodeName: "node-a",
                   hostNetwork: hostNetwork, ips: [IPAddress(ip)!], phase: phase,
                   ports: [ContainerPort(name: "http", port: 8080, transport: .tcp),
                           ContainerPort(name: "dns", port: 53, transport: .udp)])
    }
    static let xa = pod("x", "a", "10.244.1.1", labels: ["pod": "a", "tier": "web"])
    static let xb = pod("x", "b", "10.244.1.2")
    static let ya = pod("y", "a", "10.244.2.1")
    static let yb = pod("y", "b", "10.244.2.2", labels: ["pod": "b", "tier": "db"])
    static let zc = pod("z", "c", "10.244.3.1")
    static let done = pod("x", "done", "10.244.1.9", phase: .succeeded)
    static let host = pod("x", "host", "198.18.0.10", hostNetwork: true)
    static let outside = IPAddress("192.0.2.7")!

    static func select(_ labels: Labels) -> LabelSelector { LabelSelector(matchLabels: labels) }
    static func ingress(name: String = "p", in namespace: String = "x", _ selector: LabelSelector = .everything,
                        _ rules: [PolicyRule]) -> NetworkPolicy {
        NetworkPolicy(namespace: namespace, name: name, podSelector: selector, isolatesIngress: true, isolatesEgress: false,
                      ingress: rules)
    }
    static func egress(name: String = "e", in namespace: String = "x", _ selector: LabelSelector = .everything,
                       _ rules: [PolicyRule]) -> NetworkPolicy {
        NetworkPolicy(namespace: namespace, name: name, podSelector: selector, isolatesIngress: false, isolatesEgress: true,
                      egress: rules)
    }
    static func from(_ peers: PolicyPeer..., ports: [PolicyPort] = []) -> PolicyRule { PolicyRule(peers: peers, ports: ports) }
    static func pods(_ pods: LabelSelector?, namespaces: LabelSelector? = nil) -> PolicyPeer {
        .pods(podSelector: pods, namespaceSelector: namespaces)
    }
    static func block(_ cidr: String, except: [String] = []) -> PolicyPeer {
        .ipBlock(cidr: try! IPNetwork(parsing: cidr), except: except.map { try! IPNetwork(parsing: $0) })
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var policies: [NetworkPolicy]
        var source: PolicyEvaluation.Endpoint
        var destination: PolicyEvaluation.Endpoint
        var transport: TransportProtocol = .tcp
        var port: UInt16 = 80
        var allowed: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no policy: nothing is isolated", policies: [], source: .pod(ya), destination: .pod(xa), allowed: true),
        Case(name: "a pod no policy selects is not isolated",
             policies: [ingress(select(["pod": "b"]), [])], source: .pod(ya), destination: .pod(xa), allowed: true),
        Case(name: "an empty ingress list with Ingress denies all ingress",
             policies: [ingress(select(["pod": "a"]), [])], source: .pod(ya), destination: .pod(xa), allowed: false),
        Case(name: "ingress isolation leaves the pod's egress alone",
             policies: [ingress(select(["pod": "a"]), [])], source: .pod(xa), destination: .pod(ya), allowed: true),
        Case(name: "egress isolation leaves the pod's ingress alone",
             policies: [egress(select(["pod": "a"]), [])], source: .pod(ya), destination: .pod(xa), allowed: true),
        Case(name: "an empty egress list with Egress denies all egress",
             policies: [egress(select(["pod": "a"]), [])], source: .pod(xa), destination: .pod(ya), allowed: false),
        Case(name: "a connection needs the source's egress and the destination's ingress",
             policies: [egress(in: "y", .everything, [PolicyRule()]), ingress(select(["pod": "a"]), [from(pods(nil, namespaces: select(["team": "a"])))])],
             source: .pod(ya), destination: .pod(xa), allowed: false),
        Case(name: "both sides allowing lets it through",
             policies: [egress(in: "y", .everything, [PolicyRule()]), ingress(select(["pod": "a"]), [from(pods(nil, namespaces: select(["team": "b"])))])],
             source: .pod(ya), destination: .pod(xa), allowed: true),
        Case(name: "an empty pod selector selects every pod of the policy's namespace",
             policies: [ingress(.everything, [])], source: .pod(ya), destination: .pod(xb), allowed: false),
        Case(name: "an empty pod selector selects no pod of another namespace",
             policies: [ingress(.everything, [])], source: .pod(xa), destination: .pod(ya), allowed: true),
        Case(name: "policies are additive: one allowing is enough",
             policies: [ingress(name: "deny", .everything, []), ingress(name: "allow", .everything, [from(pods(select(["pod": "b"])))])],
             source: .pod(xb), destination: .pod(xa), allowed: true),
        Case(name: "a rule without from allows every peer",
             policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(port: .number(80))])])],
             source: .address(outside), destination: .pod(xa), allowed: true),
        Case(name: "a rule without ports allows every port",
             policies: [ingress(.everything, [from(pods(select(["pod": "b"])))])], source: .pod(xb), destination: .pod(xa),
             transport: .udp, port: 5353, allowed: true),
        Case(name: "a rule needs its peer and its port: right peer, wrong port",
             policies: [ingress(.everything, [from(pods(select(["pod": "b"])), ports: [PolicyPort(port: .number(81))])])],
             source: .pod(xb), destination: .pod(xa), allowed: false),
        Case(name: "a pod selector alone means the policy's namespace",
             policies: [ingress(.everything, [from(pods(select(["pod": "a"])))])], source: .pod(ya), destination: .pod(xb),
             allowed: false),
        Case(name: "a namespace selector alone means every pod there",
             policies: [ingress(.everything, [from(pods(nil, namespaces: select(["team": "b"])))])], source: .pod(yb),
             destination: .pod(xb), allowed: true),
        Case(name: "both selectors in one peer are ANDed: right namespace, wrong pod",
             policies: [ingress(.everything, [from(pods(select(["pod": "a"]), namespaces: select(["team": "b"])))])],
             source: .pod(yb), destination: .pod(xb), allowed: false),
        Case(name: "both selectors in one peer are ANDed: both right",
             policies: [ingress(.everything, [from(pods(select(["pod": "a"]), namespaces: select(["team": "b"])))])],
             source: .pod(ya), destination: .pod(xb), allowed: true),
        Case(name: "separate peers are ORed",
             policies: [ingress(.everything, [from(pods(select(["pod": "zz"])), pods(nil, namespaces: select(["team": "b"])))])],
             source: .pod(yb), destination: .pod(xb), allowed: true),
        Case(name: "an empty namespace selector selects every namespace",
             policies: [ingress(.everything, [from(pods(nil, namespaces: .everything))])], source: .pod(zc),
             destination: .pod(xb), allowed: true),
        Case(name: "namespaces carry kubernetes.io/metadata.name",
             policies: [ingress(.everything, [from(pods(nil, namespaces: select([ClusterNamespace.nameLabel: "z"])))])],
             source: .pod(zc), destination: .pod(xb), allowed: true),
        Case(name: "an ipBlock matches outside addresses",
             policies: [ingress(.everything, [from(block("192.0.2.0/24"))])], source: .address(outside),
             destination: .pod(xa), allowed: true),
        Case(name: "an ipBlock's except is carved out",
             policies: [ingress(.everything, [from(block("192.0.2.0/24", except: ["192.0.2.0/29"]))])],
             source: .address(outside), destination: .pod(xa), allowed: false),
        Case(name: "an ipBlock matches pod addresses too",
             policies: [ingress(.everything, [from(block("10.244.2.1/32"))])], source: .pod(ya), destination: .pod(xa),
             allowed: true),
        Case(name: "a port entry without protocol is TCP",
             policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(port: .number(80))])])], source: .pod(ya),
             destination: .pod(xa), transport: .udp, port: 80, allowed: false),
        Case(name: "a UDP port", policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(transport: .udp, port: .number(53))])])],
             source: .pod(ya), destination: .pod(xa), transport: .udp, port: 53, allowed: true),
        Case(name: "an SCTP port", policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(transport: .sctp, port: .number(9))])])],
             source: .pod(ya), destination: .pod(xa), transport: .sctp, port: 9, allowed: true),
        Case(name: "a protocol alone allows all its ports",
             policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(transport: .udp)])])], source: .pod(ya),
             destination: .pod(xa), transport: .udp, port: 40000, allowed: true),
        Case(name: "a named port resolves on the ingress destination (the selected pod)",
             policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(port: .named("http"))])])], source: .pod(ya),
             destination: .pod(xa), port: 8080, allowed: true),
        Case(name: "a named port is that port only",
             policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(port: .named("http"))])])], source: .pod(ya),
             destination: .pod(xa), port: 80, allowed: false),
        Case(name: "a named port with the wrong protocol matches nothing",
             policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(transport: .udp, port: .named("http"))])])],
             source: .pod(ya), destination: .pod(xa), transport: .udp, port: 8080, allowed: false),
        Case(name: "a named port resolves on the egress peer",
             policies: [egress(select(["pod": "a"]), [PolicyRule(peers: [pods(nil, namespaces: .everything)],
                                                                ports: [PolicyPort(transport: .udp, port: .named("dns"))])])],
             source: .pod(xa), destination: .pod(ya), transport: .udp, port: 53, allowed: true),
        Case(name: "a named egress port to an address outside has no pod to resolve on",
             policies: [egress(select(["pod": "a"]), [PolicyRule(ports: [PolicyPort(transport: .udp, port: .named("dns"))])])],
             source: .pod(xa), destination: .address(outside), transport: .udp, port: 53, allowed: false),
        Case(name: "endPort is inclusive (last port)",
             policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(port: .range(80, 81))])])], source: .pod(ya),
             destination: .pod(xa), port: 81, allowed: true),
        Case(name: "endPort is a range (past it)",
             policies: [ingress(.everything, [PolicyRule(ports: [PolicyPort(port: .range(80, 81))])])], source: .pod(ya),
             destination: .pod(xa), port: 82, allowed: false),
        Case(name: "matchLabels and matchExpressions are ANDed",
             policies: [ingress(LabelSelector(matchLabels: ["pod": "a"], matchExpressions: [LabelRequirement(key: "tier", op: .in, values: ["db"])]), [])],
             source: .pod(ya), destination: .pod(xa), allowed: true),
        Case(name: "In needs the key with a listed value",
             policies: [ingress(LabelSelector(matchExpressions: [LabelRequirement(key: "tier", op: .in, values: ["web"])]), [])],
             source: .pod(ya), destination: .pod(xa), allowed: false),
        Case(name: "In on a missing key is false",
             policies: [ingress(LabelSelector(matchExpressions: [LabelRequirement(key: "tier", op: .in, values: ["web"])]), [])],
             source: .pod(ya), destination: .pod(xb), allowed: true),
        Case(name: "NotIn is true on a missing key",
             policies: [ingress(LabelSelector(matchExpressions: [LabelRequirement(key: "tier", op: .notIn, values: ["web"])]), [])],
             source: .pod(ya), destination: .pod(xb), allowed: false),
        Case(name: "NotIn is false on a listed value",
             policies: [ingress(LabelSelector(matchExpressions: [LabelRequirement(key: "tier", op: .notIn, values: ["web"])]), [])],
             source: .pod(ya), destination: .pod(xa), allowed: true),
        Case(name: "Exists",
             policies: [ingress(LabelSelector(matchExpressions: [LabelRequirement(key: "tier", op: .exists)]), [])],
             source: .pod(ya), destination: .pod(xa), allowed: false),
        Case(name: "DoesNotExist",
             policies: [ingress(LabelSelector(matchExpressions: [LabelRequirement(key: "tier", op: .doesNotExist)]), [])],
             source: .pod(ya), destination: .pod(xa), allowed: true),
        Case(name: "the pod's own node always reaches it (kubelet probes)",
             policies: [ingress(.everything, [])], source: .ownNode, destination: .pod(xa), allowed: true),
        Case(name: "a pod always reaches its own node",
             policies: [egress(.everything, [])], source: .pod(xa), destination: .ownNode, allowed: true),
        Case(name: "a hostNetwork pod is no policy target",
             policies: [ingress(.everything, [])], source: .pod(ya), destination: .pod(host), allowed: true),
        Case(name: "a hostNetwork pod is no pod peer",
             policies: [ingress(.everything, [from(pods(.everything))])], source: .pod(host), destination: .pod(xa),
             allowed: false),
        Case(name: "a finished pod is no pod peer",
             policies: [ingress(.everything, [from(pods(.everything))])], source: .pod(done), destination: .pod(xa),
             allowed: false),
        Case(name: "allow-all stacked on deny-all",
             policies: [ingress(name: "deny", .everything, []), ingress(name: "all", .everything, [PolicyRule()])],
             source: .address(outside), destination: .pod(xa), allowed: true),
    ]

    static func address(_ endpoint: PolicyEvaluation.Endpoint) -> IPAddress {
        switch endpoint {
        case .pod(let pod): return pod.ips[0]
        case .ownNode: return IPAddress("198.18.0.10")!
        case .address(let address): return address
        }
    }

    @Test(arguments: cases)
    func semantics(_ test: Case) {
        let cluster = ClusterState(namespaces: Self.namespaces, pods: [Self.xa, Self.xb, Self.ya, Self.yb, Self.zc, Self.done, Self.host],
                                   policies: test.policies)
        let allowed = PolicyEvaluation(cluster).allows(
            from: test.source, sourceAddress: Self.address(test.source), to: test.destination,
            destinationAddress: Self.address(test.destination), transport: test.transport, port: test.port)
        #expect(allowed == test.allowed, "\(test.name)")
    }

    @Test func valuesBeforeRules() {
        let policy = Self.ingress(Self.select(["pod": "a"]), [Self.from(Self.pods(nil, namespaces: Self.select(["team": "b"])))])
        let evaluation = PolicyEvaluation(ClusterState(namespaces: Self.namespaces,
                                                       pods: [Self.xa, Self.xb, Self.ya, Self.yb, Self.zc, Self.done, Self.host],
                                                       policies: [policy]))
        #expect(evaluation.targets(of: policy).map(\.name) == ["a"])
        #expect(evaluation.pods(of: policy.ingress[0].peers[0], policyNamespace: "x").map { "\($0.namespace)/\($0.name)" }
            == ["y/a", "y/b"])
        #expect(PolicyEvaluation.spans(of: PolicyPort(port: .named("http")), on: Self.xa)
            == [PortSpan(transport: .tcp, ports: PortRange(8080))])
        #expect(PolicyEvaluation.spans(of: PolicyPort(port: .named("http")), on: nil).isEmpty)
        #expect(PolicyEvaluation.spans(of: PolicyPort(transport: .udp), on: nil) == [PortSpan(transport: .udp, ports: nil)])
    }
}
