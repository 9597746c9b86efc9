import PodNet

/// Which pods a policy set holds, as a test of one pod: what a set's name stands for
/// once its members are to follow pods that come, go and change (`PolicyMembership`),
/// where the compile found them in bulk. The tests are `PolicyEvaluation`'s own.
enum PodSelection: Hashable, Sendable {
    /// This node's pods some policy isolates in the direction ("I" sets).
    case isolated(PolicyEvaluation.Direction)
    /// This node's pods a policy applies to ("T" sets; the destinations of its
    /// ingress rules' named ports).
    case localTargets(NetworkPolicy)
    /// The pods a pod peer names, on every node ("P" sets; the destinations of an
    /// egress rule's named ports towards the peer).
    case peer(PolicyPeer, policyNamespace: String)
    /// Every pod that takes part in policy: the destinations of an egress rule's named
    /// ports towards an address block or every peer.
    case everyPod
    /// Those of a selection on which a named port resolves to one number ("N" sets).
    indirect case resolving(PodSelection, PolicyPort, PortSpan)

    func contains(_ pod: ClusterPod, evaluation: PolicyEvaluation, config: NodeConfig) -> Bool {
        switch self {
        case .isolated(let direction):
            return PolicyRules.isLocal(pod, on: config) && !evaluation.policies(isolating: pod, direction).isEmpty
        case .localTargets(let policy):
            return PolicyRules.isLocal(pod, on: config) && evaluation.policy(policy, targets: pod)
        case .peer(let peer, let policyNamespace):
            return evaluation.peer(peer, policyNamespace: policyNamespace, names: pod)
        case .everyPod:
            return pod.takesPartInPolicy
        case .resolving(let destinations, let port, let span):
            return destinations.contains(pod, evaluation: evaluation, config: config)
                && PolicyEvaluation.spans(of: port, on: pod).contains(span)
        }
    }

    /// The namespaces the selection's pods can come from: one, those a namespace
    /// selector picks, or any. A pod's change can only touch the selections of its own.
    enum Scope: Hashable {
        case namespace(String)
        case namespaces(LabelSelector)
        case anywhere
    }

    var scope: Scope {
        switch self {
        case .isolated, .everyPod: .anywhere
        case .localTargets(let policy): .namespace(policy.namespace)
        case .peer(let peer, let policyNamespace):
            if case .pods(_, let namespaceSelector?) = peer { .namespaces(namespaceSelector) } else { .namespace(policyNamespace) }
        case .resolving(let destinations, _, _): destinations.scope
        }
    }
}

/// What the sets a compile made stand for, recorded while it makes them
/// (`PolicyRules.definitions`): each selection with the names of its sets per family
/// and how many of its pods hold each address, and, for each named port on each
/// destination selection, how many of those pods it resolves to each number on. The
/// sets follow from the first; the rules from the second (a rule per number found).
struct PolicySetDefinitions {
    struct Sets {
        /// Per family (IPv4, IPv6), the sets holding these pods' addresses of the family.
        var names: [[String]] = [[], []]
        /// The selection's pods per address (both families): an address leaves a set
        /// with the last pod holding it.
        var podsPerAddress: [IPAddress: Int] = [:]
    }

    /// A named port as the destinations of one selection resolve it.
    struct Resolution: Hashable {
        var destinations: PodSelection
        var port: PolicyPort
    }

    private(set) var sets: [PodSelection: Sets] = [:]
    private(set) var resolutions: [Resolution: [PortSpan: Int]] = [:]

    static func index(of family: IPFamily) -> Int { family == .ipv4 ? 0 : 1 }

    /// A set made from `pods`, the members of `selection`. A selection is the same pods
    /// wherever it recurs, so its addresses of a family are counted at its first set.
    mutating func record(set name: String, family: IPFamily, _ selection: PodSelection, _ pods: [ClusterPod]) {
        let index = Self.index(of: family)
        var selected = sets.removeValue(forKey: selection) ?? Sets()
        if selected.names[index].isEmpty {
            for pod in pods {
                if let address = PolicyRules.address(of: pod, family: family) { selected.podsPerAddress[address, default: 0] += 1 }
            }
        }
        selected.names[index].append(name)
        sets[selection] = selected
    }

    /// The pods of `destinations` that `port` resolves on, per number.
    mutating func record(_ port: PolicyPort, resolvingOn destinations: PodSelection, _ byNumber: [PortSpan: [ClusterPod]]) {
        resolutions[Resolution(destinations: destinations, port: port)] = byNumber.mapValues(\.count)
    }
}
