import PodNet

/// NetworkPolicy for this node's pods, rendered from the evaluated values
/// (`PolicyEvaluation`) into filter chains and ipsets, per family.
///
/// Every pod-to-pod or pod-to-outside packet of a local pod crosses FORWARD (pods on
/// the same node too: their traffic is bridged, and br_netfilter hands bridged IP
/// packets to FORWARD with the bridge ports as physdev), so PODNET-FORWARD first jumps
/// to PODNET-POLICY, which only ever drops or returns:
///
/// - (IPv6) link-local sources return: neighbour discovery between pods is bridged;
/// - a pod podnet attached sending from an address not its own is dropped at its port
///   (`PodSourceCheck`: one rule, sets of ports and addresses), so it can neither evade
///   its egress policy nor borrow another pod's ingress allowance;
/// - replies and related packets of allowed connections return (conntrack);
/// - a pod the runtime attached that the List does not place yet is cut off
///   (`PolicyWait`): its policies are not known;
/// - PODNET-EGRESS: a source that no policy isolates for egress returns; each rule of
///   each egress policy returns what it allows; the rest is rejected;
/// - PODNET-INGRESS: the same for destinations isolated for ingress.
///
/// Selectors become sets: the local pods a policy targets, the pods a peer names (all
/// nodes), an ipBlock (hash:net, `except` as nomatch entries), and for named ports the
/// pods on which the name resolves to each number. Rules then grow with policies,
/// rules, peers and ports, never with pods: a pod that comes, goes or is relabelled
/// changes set members only. Traffic between a pod and its own node never crosses
/// FORWARD (INPUT and OUTPUT), so it is always allowed, as the kubelet's probes need.
/// Without policies there is no rule and no set at all.
struct PolicyRules {
    let config: NodeConfig
    let evaluation: PolicyEvaluation
    /// The wait sets (`PolicyWait`), per family, made once for both families.
    private let waitSets: [IPFamily: IPSetState]
    /// Every set the rules of both families match, by name.
    private(set) var sets: [String: IPSetState] = [:]
    /// The pods of each pod peer, by its canonical text: the same peer recurs in many
    /// policies of a namespace (and in both families), and a namespace selector is
    /// matched against every namespace. With them, the peer they were found for.
    private var podsOfPeer: [String: PeerPods] = [:]
    /// What each set made stands for, kept only when asked (`PolicyMembership` keeps
    /// the sets' members up to date from it); nil in a plain compile.
    var definitions: PolicySetDefinitions?

    typealias PeerPods = (pods: [ClusterPod], selection: PodSelection)

    init?(config: NodeConfig, cluster: ClusterState?) {
        guard let cluster, !cluster.policies.isEmpty else { return nil }
        self.config = config
        // A pod the kubelet has not reported yet stands at its attachment's address.
        evaluation = PolicyEvaluation(AttachmentPlacement(config).place(cluster))
        waitSets = PolicyWait.sets(config: config, cluster: evaluation.cluster)
    }

    private var policies: [NetworkPolicy] {
        evaluation.cluster.policies.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    private func isLocal(_ pod: ClusterPod) -> Bool { Self.isLocal(pod, on: config) }

    /// A pod of this node: only these are targets (and isolated) here; peers are on any node.
    static func isLocal(_ pod: ClusterPod, on config: NodeConfig) -> Bool { pod.nodeName == config.node.name }

    /// The chains of `family`, and the jump to them from PODNET-FORWARD.
    mutating func add(to filter: inout TableBuilder, family: IPFamily) {
        filter.append(Rule(matches: [.comment("podnet: network policy")], target: .jump(ChainName.policy)), to: .forward)
        var policy: [Rule] = []
        if family == .ipv6 {
            policy.append(Rule(source: AddressMatch(try! IPNetwork(parsing: "fe80::/10")),
                               matches: [.comment("podnet: link-local (neighbour discovery)")], target: .returnFromChain))
        }
        for set in PodSourceCheck.sets(family, pods: config.pods) { sets[set.name] = set }
        policy.append(PodSourceCheck.rule(family))
        policy.append(Rule(matches: [.conntrack(ConntrackMatch(states: [.related, .established]))], target: .returnFromChain))
        let waiting = waitSets[family]!
        sets[waiting.name] = waiting
        policy += PolicyWait.rules(family)
        policy.append(Rule(target: .jump(ChainName.policyEgress)))
        policy.append(Rule(target: .jump(ChainName.policyIngress)))
        filter.add(Chain(name: ChainName.policy, rules: policy))
        filter.add(Chain(name: ChainName.policyEgress, rules: directionRules(.egress, family: family)))
        filter.add(Chain(name: ChainName.policyIngress, rules: directionRules(.ingress, family: family)))
    }

    /// The pod's own side of a packet (its source for egress) and the peer's.
    private static func sides(_ direction: PolicyEvaluation.Direction) -> (own: SetMatch.Direction, peer: SetMatch.Direction) {
        direction == .egress ? (.source, .destination) : (.destination, .source)
    }

    private mutating func directionRules(_ direction: PolicyEvaluation.Direction, family: IPFamily) -> [Rule] {
        let (own, peer) = Self.sides(direction)
        let word = direction == .egress ? "egress" : "ingress"
        let isolating = policies.filter { direction == .egress ? $0.isolatesEgress : $0.isolatesIngress }
        let isolated = evaluation.cluster.pods.filter { pod in
            isLocal(pod) && !evaluation.policies(isolating: pod, direction).isEmpty
        }
        let isolatedSet = podSet("I\(direction == .egress ? "E" : "I")", key: "isolated", isolated, .isolated(direction),
                                 family: family)
        var rules = [Rule(matches: [.comment("podnet: not isolated for \(word)"), .set(SetMatch(isolatedSet, own, negated: true))],
                          target: .returnFromChain)]
        for policy in isolating {
            let comment = Match.comment(String("podnet: \(word) of \(policy.namespace)/\(policy.name)".prefix(250)))
            let targets = evaluation.targets(of: policy).filter(isLocal)
            // Made when a rule matches it (a policy with only named ports never does).
            var targetSetName: String?
            func targetSet() -> String {
                if let targetSetName { return targetSetName }
                let name = podSet("T", key: "\(policy.namespace)/\(policy.name)", targets, .localTargets(policy), family: family)
                targetSetName = name
                return name
            }
            for (number, rule) in (direction == .egress ? policy.egress : policy.ingress).enumerated() {
                let key = "\(policy.namespace)/\(policy.name)/\(word)/\(number)"
                for (peerIndex, (peerMatch, peerPods)) in peerMatches(rule, policy: policy, side: peer, family: family).enumerated() {
                    for (portKey, port) in (rule.ports.isEmpty ? [nil] : rule.ports.map(Optional.some)).enumerated() {
                        // A named port resolves on the destination: the targets for
                        // ingress, the peer's pods for egress; each number it takes is a set.
                        guard case .named? = port?.port else {
                            let span = port.map { PolicyEvaluation.spans(of: $0, on: nil)[0] }
                            rules.append(Self.rule(comment, [.set(SetMatch(targetSet(), own))] + peerMatch, span))
                            continue
                        }
                        let destinations: PeerPods = direction == .ingress
                            ? (targets, .localTargets(policy))
                            : (peerPods ?? (evaluation.cluster.pods.filter(\.takesPartInPolicy), .everyPod))
                        var byNumber: [PortSpan: [ClusterPod]] = [:]
                        for pod in destinations.pods {
                            for span in PolicyEvaluation.spans(of: port!, on: pod) { byNumber[span, default: []].append(pod) }
                        }
                        definitions?.record(port!, resolvingOn: destinations.selection, byNumber)
                        // For ingress the name resolves on the targets, the same pods for every
                        // peer of the rule; for egress on each peer's own pods, so each peer
                        // has its own sets (one shared set would hold the first peer's pods only,
                        // and refuse the second peer's).
                        let destinationKey = direction == .ingress ? "" : "/peer \(peerIndex)"
                        for span in byNumber.keys.sorted(by: { ($0.transport, $0.ports?.first ?? 0) < ($1.transport, $1.ports?.first ?? 0) }) {
                            let named = podSet("N", key: "\(key)/\(portKey)/\(span.ports?.first ?? 0)\(destinationKey)", byNumber[span]!,
                                               .resolving(destinations.selection, port!, span), family: family)
                            let matches: [Match] = direction == .ingress
                                ? [.set(SetMatch(named, own))] + peerMatch
                                : [.set(SetMatch(targetSet(), own))] + peerMatch + [.set(SetMatch(named, peer))]
                            rules.append(Self.rule(comment, matches, span))
                        }
                    }
                }
            }
        }
        // Administratively prohibited, so a client learns at once rather than after its timeout.
        let reject: RejectKind = family == .ipv4 ? .ipv4(8) : .ipv6(1)
        rules.append(Rule(matches: [.comment("podnet: \(word) not allowed by any policy")], target: .reject(reject)))
        return rules
    }

    /// Each peer of a rule as matches on the peer's side (none for "every peer"), with
    /// the pods it names (nil for an address block or every peer). A peer of the other
    /// family (an IPv6 block in IPv4) has nothing to match and is left out.
    private mutating func peerMatches(_ rule: PolicyRule, policy: NetworkPolicy, side: SetMatch.Direction,
                                      family: IPFamily) -> [([Match], PeerPods?)] {
        guard !rule.peers.isEmpty else { return [([], nil)] }
        var matches: [([Match], PeerPods?)] = []
        for peer in rule.peers {
            switch peer {
            case .pods:
                let key = Self.canonical(peer, policyNamespace: policy.namespace)
                let pods = podsOfPeer[key]
                    ?? (evaluation.pods(of: peer, policyNamespace: policy.namespace), .peer(peer, policyNamespace: policy.namespace))
                podsOfPeer[key] = pods
                let name = podSet("P", key: key, pods.pods, pods.selection, family: family)
                matches.append(([.set(SetMatch(name, side))], pods))
            case .ipBlock(let cidr, let except):
                guard cidr.family == family else { continue }
                let name = Self.setName("B", key: "\(cidr)|\(except)", family: family)
                sets[name] = IPSetState(name: name, type: .hashNet, family: family,
                                        entries: Set(Self.blockEntries(cidr) + except.map { IPSetEntry($0, nomatch: true) }))
                matches.append(([.set(SetMatch(name, side))], nil))
            }
        }
        return matches
    }

    /// A block's own entries. The kernel's hash:net takes prefixes from 1 up (a /0 is
    /// refused as an invalid prefix length), so "everywhere" (`0.0.0.0/0`, `::/0`, the
    /// usual egress-to-the-internet block) is its two halves.
    static func blockEntries(_ cidr: IPNetwork) -> [IPSetEntry] {
        guard cidr.prefixLength == 0 else { return [IPSetEntry(cidr)] }
        let halves = cidr.family == .ipv4
            ? [IPAddress(ipv4: 0), IPAddress(ipv4: 0x8000_0000)]
            : [IPAddress(ipv6: 0, 0), IPAddress(ipv6: 0x8000_0000_0000_0000, 0)]
        return halves.map { IPSetEntry(IPNetwork(network: $0, prefixLength: 1)) }
    }

    /// A pod peer as text that is the same from run to run (labels sorted), so that
    /// its set keeps its name; equal peers of one namespace share a set.
    static func canonical(_ peer: PolicyPeer, policyNamespace: String) -> String {
        func selector(_ selector: LabelSelector?) -> String {
            guard let selector else { return "-" }
            let labels = selector.matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let expressions = selector.matchExpressions.map { "\($0.key) \($0.op.rawValue) \($0.values.joined(separator: ","))" }
            return "{" + (labels + expressions).joined(separator: ";") + "}"
        }
        guard case .pods(let pods, let namespaces) = peer else { return "\(peer)" }
        return "pods \(selector(pods)) in " + (namespaces.map { "namespaces \(selector($0))" } ?? "namespace \(policyNamespace)")
    }

    private static func rule(_ comment: Match, _ matches: [Match], _ span: PortSpan?) -> Rule {
        guard let span else { return Rule(matches: [comment] + matches, target: .returnFromChain) }
        let ports = PortMatch(destinationPorts: span.ports)
        let portMatch: Match = switch span.transport {
        case .tcp: .tcp(TCPMatch(ports: ports))
        case .udp: .udp(ports)
        case .sctp: .sctp(ports)
        }
        return Rule(proto: ProtocolMatch(IPProtocol(span.transport)), matches: [comment] + matches + [portMatch],
                    target: .returnFromChain)
    }

    /// A hash:ip set of the pods' addresses of `family`, named from `key` (a key
    /// names the same pods wherever it recurs: the set is made once); `selection` says
    /// which pods they are.
    private mutating func podSet(_ kind: String, key: String, _ pods: [ClusterPod], _ selection: PodSelection,
                                 family: IPFamily) -> String {
        let name = Self.setName(kind, key: key, family: family)
        guard sets[name] == nil else { return name }
        let entries = pods.compactMap { Self.address(of: $0, family: family) }.map(IPSetEntry.init(host:))
        sets[name] = IPSetState(name: name, type: .hashIP, family: family, entries: Set(entries))
        definitions?.record(set: name, family: family, selection, pods)
        return name
    }

    /// The address a pod stands for in a set of `family`: its first of the family.
    static func address(of pod: ClusterPod, family: IPFamily) -> IPAddress? {
        pod.ips.first { $0.family == family }
    }

    /// `PODNET-<kind><4|6>-<16 base32 of the key's digest>`: the kind says the type and
    /// the digit the family, so a set never changes either under its name.
    static func setName(_ kind: String, key: String, family: IPFamily) -> String {
        let digest = Base32.encode(Array(SHA256.digest(key).prefix(10)))
        return "\(IPSetState.ownedPrefix)\(kind)\(family == .ipv4 ? "4" : "6")-\(digest)"
    }
}
