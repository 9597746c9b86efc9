import PodNet

/// The members of a compile's policy sets, kept up to date one pod at a time: what a
/// long-running podnet needs when a pod comes, goes or changes. Rules grow with
/// policies, never with pods (`PolicyRules`), so most pod changes change set members
/// only, and those follow from the pod alone: each set stands for a selection of pods
/// (`PodSelection`), tested on the pod before and after its change with
/// `PolicyEvaluation`'s own tests. The exception is a named port: it makes a rule (and
/// a set) per number it resolves to, so a pod that brings a number no rule has yet, or
/// takes away a number's last pod, changes the rules; that change is left to a full
/// compile.
///
/// Work per change grows with the sets the pod's namespace can touch (those of its
/// namespace's policies and peers, of namespace selectors that pick it, and the node's
/// isolation sets), never with the cluster's pods.
public struct PolicyMembership: Sendable {
    private let config: NodeConfig
    /// The policies and namespaces of the cluster (which `apply` never changes).
    private let evaluation: PolicyEvaluation
    private var selections: [Selection]
    private var resolutions: [Resolution]
    /// The selections and resolutions a pod of a namespace can be part of.
    private let byNamespace: [String: Scoped]
    private let byNamespaceSelector: [LabelSelector: Scoped]
    private let anywhere: Scoped

    /// The sets that hold one selection's addresses.
    private struct Selection: Sendable {
        var pods: PodSelection
        /// Per family (IPv4, IPv6).
        var setNames: [[String]]
        /// An address stays in the sets while one of the selection's pods holds it (two
        /// pods can share one: a finished pod's address given to a new pod).
        var podsPerAddress: [IPAddress: Int]
    }

    /// A named port on the pods of a selection: the numbers it resolves to, each with
    /// the pods it does on; each number is a rule.
    private struct Resolution: Sendable {
        var destinations: PodSelection
        var port: PolicyPort
        var podsPerNumber: [PortSpan: Int]
    }

    private struct Scoped: Sendable {
        var selections: [Int] = []
        var resolutions: [Int] = []
    }

    /// Built from the same inputs as a full compile (nil when the cluster has no policy).
    public init?(config: NodeConfig, cluster: ClusterState) {
        guard var rules = PolicyRules(config: config, cluster: cluster) else { return nil }
        rules.definitions = PolicySetDefinitions()
        // The compile's own path, so that the same sets are made in the same order
        // (a set's name stands for the pods of the first selection that made it).
        var policy: PolicyRules? = rules
        for family in config.families {
            _ = Compiler.tables(config, family: family, policy: &policy)
        }
        let definitions = policy!.definitions!
        self.config = config
        evaluation = rules.evaluation
        // In set name order, so that the operations come in the same order each time.
        selections = definitions.sets.map { pods, sets in
            let names = sets.names.map { $0.sorted() }
            return (names.joined().min()!, Selection(pods: pods, setNames: names, podsPerAddress: sets.podsPerAddress))
        }.sorted { $0.0 < $1.0 }.map(\.1)
        resolutions = definitions.resolutions.map { Resolution(destinations: $0.destinations, port: $0.port, podsPerNumber: $1) }
        var byNamespace: [String: Scoped] = [:], byNamespaceSelector: [LabelSelector: Scoped] = [:], anywhere = Scoped()
        func scoped(_ scope: PodSelection.Scope, _ add: (inout Scoped) -> Void) {
            switch scope {
            case .namespace(let namespace): add(&byNamespace[namespace, default: Scoped()])
            case .namespaces(let selector): add(&byNamespaceSelector[selector, default: Scoped()])
            case .anywhere: add(&anywhere)
            }
        }
        for (index, selection) in selections.enumerated() {
            scoped(selection.pods.scope) { $0.selections.append(index) }
        }
        for (index, resolution) in resolutions.enumerated() {
            scoped(resolution.destinations.scope) { $0.resolutions.append(index) }
        }
        self.byNamespace = byNamespace
        self.byNamespaceSelector = byNamespaceSelector
        self.anywhere = anywhere
    }

    /// A pod added (old nil), removed (new nil) or changed (same namespace/name): the ipset
    /// member operations that take the desired sets of a full compile before the change
    /// to those of a full compile after it, and takes the change into its own state for
    /// the next call. Returns nil (and changes nothing) when the change alters more than
    /// set members, e.g. a named port that resolves to a number no rule has yet, or the
    /// last pod of such a number leaving; the caller then recompiles in full and builds a
    /// new PolicyMembership. (An old and a new pod of two namespaces are two pods: nil
    /// too; remove the one and add the other.)
    public mutating func apply(from old: ClusterPod?, to new: ClusterPod?) -> [IPSetOperation]? {
        guard let namespace = (new ?? old)?.namespace else { return [] }
        // Namespace and name are a pod's identity: two namespaces are two pods.
        guard old == nil || old?.namespace == namespace else { return nil }
        var scopes = [anywhere, byNamespace[namespace] ?? Scoped()]
        for (selector, scoped) in byNamespaceSelector where evaluation.namespace(namespace, isSelectedBy: selector) {
            scopes.append(scoped)
        }
        // The rules first: every named port must keep the numbers it has. Nothing is
        // changed before all are known to.
        var numberChanges: [(resolution: Int, span: PortSpan, pods: Int)] = []
        for index in scopes.lazy.flatMap(\.resolutions) {
            let resolution = resolutions[index]
            let before = spans(of: resolution, on: old), after = spans(of: resolution, on: new)
            guard before != after else { continue }
            for span in before.subtracting(after) {
                guard let pods = resolution.podsPerNumber[span], pods > 1 else { return nil }
                numberChanges.append((index, span, -1))
            }
            for span in after.subtracting(before) {
                guard resolution.podsPerNumber[span] != nil else { return nil }
                numberChanges.append((index, span, 1))
            }
        }
        for change in numberChanges {
            resolutions[change.resolution].podsPerNumber[change.span]! += change.pods
        }
        var adds: [IPSetOperation] = [], deletes: [IPSetOperation] = []
        for index in scopes.lazy.flatMap(\.selections) {
            let before = addresses(in: selections[index], of: old), after = addresses(in: selections[index], of: new)
            guard before != after else { continue }
            for address in before where !after.contains(address) {
                guard let pods = selections[index].podsPerAddress[address] else { continue }
                if pods > 1 {
                    selections[index].podsPerAddress[address] = pods - 1
                    continue
                }
                selections[index].podsPerAddress[address] = nil
                for set in selections[index].setNames[PolicySetDefinitions.index(of: address.family)] {
                    deletes.append(.delete(set: set, IPSetEntry(host: address)))
                }
            }
            for address in after where !before.contains(address) {
                let pods = selections[index].podsPerAddress[address, default: 0]
                selections[index].podsPerAddress[address] = pods + 1
                guard pods == 0 else { continue }
                for set in selections[index].setNames[PolicySetDefinitions.index(of: address.family)] {
                    adds.append(.add(set: set, IPSetEntry(host: address)))
                }
            }
        }
        // As IPSetDiff edits members: the new before the stale.
        return adds + deletes
    }

    private func spans(of resolution: Resolution, on pod: ClusterPod?) -> Set<PortSpan> {
        guard let pod, resolution.destinations.contains(pod, evaluation: evaluation, config: config) else { return [] }
        return Set(PolicyEvaluation.spans(of: resolution.port, on: pod))
    }

    /// The pod's addresses in the selection's sets: its first of each family the sets
    /// are of, when the selection holds it.
    private func addresses(in selection: Selection, of pod: ClusterPod?) -> [IPAddress] {
        guard let pod, selection.pods.contains(pod, evaluation: evaluation, config: config) else { return [] }
        return [IPFamily.ipv4, .ipv6].compactMap { family in
            selection.setNames[PolicySetDefinitions.index(of: family)].isEmpty ? nil : PolicyRules.address(of: pod, family: family)
        }
    }
}
