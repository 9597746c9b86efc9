import PodNet
import PodNetIptables
import PodNetNetlink

/// How much of the node one runtime request (CNI ADD or DEL) may change.
public struct AttachmentScope: Sendable, Hashable {
    /// The pods' host ends: of the pods, only these are attached or detached.
    public var hostInterfaces: Set<String>
    /// Entries the attached pods bring to the node's sets (on a node with NetworkPolicy,
    /// their source check), and those the detached pods take out (their source check
    /// and, for a pod of Kubernetes, its wait for the List, which ADD began on its own:
    /// `addToSets`), where the node has the sets. Every other member of every set stays
    /// as found.
    public var joining: [PodSetMembers]
    public var leaving: [PodSetMembers]

    public init(hostInterfaces: Set<String>, joining: [PodSetMembers] = [], leaving: [PodSetMembers] = []) {
        self.hostInterfaces = hostInterfaces
        self.joining = joining
        self.leaving = leaving
    }
}

extension NodeDataplane {
    /// Runs `body` holding the namespace's lock: exclusively for node-level changes (the
    /// observing `apply(_:ownership:scope:)`), shared for attaching or detaching one's own
    /// pods on a prepared node, which then run beside each other.
    public func withNamespaceLock<T>(shared: Bool, _ body: () throws -> T) throws -> T {
        try PodnetLock.forNamespace(namespace, wait: lockWait).withLock(shared: shared, body)
    }

    /// Brings the node to `desired` as far as one attachment needs: the node-level state
    /// (bridge, addresses, sysctls, tables) when it is missing or differs, and the pods of
    /// `scope` (every pod after a change of `bridge.name`). Other pods, peers' routes and
    /// NetworkPolicy (its chains and sets, but the scope's pods' source-check entries)
    /// are left as they are: repairing them is `podnet apply`'s, which reads the cluster's
    /// List. The same plan, executor, order and rollback as apply: a failure undoes the
    /// whole run, so a failed ADD leaves nothing. Called holding the namespace's lock
    /// exclusively.
    public func apply(_ desired: DesiredState, ownership: Ownership, scope: AttachmentScope) throws -> ApplyResult {
        var withoutTables = desired
        withoutTables.tables = []
        withoutTables.ipsets = []
        let observed = try observer.observe(withoutTables, bridgeName: ownership.bridgeName,
                                            routeProtocol: ownership.routeProtocol,
                                            routeTable: ownership.routeTable, includingTables: false)
        withoutTables.ipsets = observed.ipsets.map { set in
            var set = set
            for member in scope.joining where member.set == set.name { set.entries.formUnion(member.entries) }
            for member in scope.leaving where member.set == set.name { set.entries.subtract(member.entries) }
            return set
        }
        var plan = NodeDiff.plan(desired: withoutTables, observed: observed)
        plan.routes = []
        plan.conflicts = plan.conflicts.filter { if case .route = $0 { return false }; return true }
        // After a change of `bridge.name`, every pod moves to the new bridge in this run,
        // as in an apply: the old bridge gives up the gateway addresses, so a pod left
        // on it would have no gateway.
        let retired = try retiredBridges(bridgeName: ownership.bridgeName)
        if retired.isEmpty { plan.pods = plan.pods.filter { scope.hostInterfaces.contains($0.hostInterface) } }
        try retiringBridges(retired, into: &plan)
        let tables = Set(NodeObserver.tables + desired.tables.map(\.id)).sorted()
        let executor = try PlanExecutor(namespace: namespace, iptables: iptables)
        executor.keepsPolicyAsFound = true
        var asFound = desired
        asFound.ipsets = withoutTables.ipsets
        return try executor.execute(plan, desired: asFound, bridgeName: ownership.bridgeName,
                                    routeProtocol: ownership.routeProtocol, tables: tables,
                                    observedSetIndexes: observed.ipsetIndexes)
    }

    /// Attaches `pod` on a node whose node-level state is as `recorded` (and `desired`
    /// wants it so). Nothing but the pod's own links, addresses and routes is read or
    /// written: no table (kube-proxy's 50,000 nat rules stay unread), no route of the
    /// node, no other pod. False, with nothing done, when the node is not as recorded:
    /// the caller then takes the observing `apply(_:ownership:scope:)`. A failure undoes
    /// the attachment, as apply's rollback does. Called holding the namespace's lock
    /// (shared is enough: pods are disjoint).
    ///
    /// `members`: the pod's entries in sets the node may have (on a node with
    /// NetworkPolicy, its port's source check), added to each set the node has before
    /// the pod's links exist (so its first packet is checked) and removed again when the
    /// attachment fails; a set the node does not have (no policy) is skipped.
    public func attachOnPreparedNode(_ pod: PodAttachment, desired: DesiredState, ownership: Ownership,
                                     recorded: NodeStamp, members: [PodSetMembers] = []) throws -> Bool {
        guard let bridgeName = ownership.bridgeName,
              let bridge = try preparedBridge(recorded, desired: desired, bridgeName: bridgeName) else { return false }
        let executor = try PlanExecutor(namespace: namespace, iptables: iptables)
        let joined = try join(members)
        do {
            // An apply that ran since the pod's allocation was recorded attached it already.
            if try executor.holdsPod(pod) { return true }
            let mtu = if case .fixed(let value) = pod.mtu { value } else { bridge.mtu }
            _ = try executor.execute(Plan(pods: [.attach(pod, mtu: mtu)]), desired: desired, bridgeName: bridgeName,
                                     routeProtocol: ownership.routeProtocol, tables: [])
        } catch {
            try? leave(joined)
            throw error
        }
        return true
    }

    /// Detaches the pods with these host ends, and what a killed attachment of theirs left
    /// under the temporary name, then takes their `members` out of the sets the node has:
    /// for pods without host ports nothing else of the node is read or written. Called
    /// holding the namespace's lock (shared is enough).
    public func detachPods(hostInterfaces: [String], members: [PodSetMembers] = []) throws {
        let executor = try PlanExecutor(namespace: namespace, iptables: iptables)
        for hostInterface in hostInterfaces { try executor.detachPod(hostInterface: hostInterface) }
        try leave(members)
    }

    /// `members` added to the sets the node has, and taken out again, apart from any
    /// attachment and without the namespace's lock: for sets whose writers all hold the
    /// CNI store's lock (the wait set of `PolicyWait`: a full apply, watch's releases, ADD,
    /// DEL), which ADD holds while it begins a pod's wait, before its record exists, and
    /// must not wait for a node-level run's namespace lock with it.
    public func addToSets(_ members: [PodSetMembers]) throws {
        _ = try join(members)
    }

    public func removeFromSets(_ members: [PodSetMembers]) throws {
        try leave(members)
    }

    /// Adds each entry to its set where the node has the set (an entry already there, put
    /// by an apply that ran meanwhile, is no error); the members it added to.
    private func join(_ members: [PodSetMembers]) throws -> [PodSetMembers] {
        guard let (sets, present) = try present(members) else { return [] }
        for member in present { try sets.add(member.entries, to: member.set, ifAbsent: true) }
        return present
    }

    /// Takes each entry out of its set where the node has the set and the entry.
    func leave(_ members: [PodSetMembers]) throws {
        guard let (sets, present) = try present(members) else { return }
        for member in present { try sets.delete(member.entries, from: member.set, ifPresent: true) }
    }

    /// The members whose set the node has, with the session that asked; nil when there are
    /// none, or the kernel has no ipsets at all (nor a node policy, then).
    private func present(_ members: [PodSetMembers]) throws -> (IPSets, [PodSetMembers])? {
        guard !members.isEmpty else { return nil }
        return try observer.withIPSets(wanted: false, none: nil) { sets throws(NetlinkOperationError) in
            var present: [PodSetMembers] = []
            for member in members where try sets.contains(member.set) { present.append(member) }
            return present.isEmpty ? nil : (sets, present)
        }
    }
}

/// A pod's entries in one of the node's sets, for a CNI request that attaches or
/// detaches it without the node-level path.
public struct PodSetMembers: Sendable, Hashable {
    public var set: String
    public var entries: [IPSetEntry]

    public init(set: String, entries: [IPSetEntry]) {
        self.set = set
        self.entries = entries
    }
}

extension PodOperation {
    /// The host end the operation attaches or detaches.
    public var hostInterface: String {
        switch self {
        case .attach(let pod, _): return pod.hostInterface
        case .detach(let pod): return pod.hostInterface
        }
    }
}

extension TableState {
    /// A digest of the tables' chains, rules and jumps (FNV-1a 64 of their iptables-save
    /// text): the same tables give the same digest in every process.
    public static func digest(_ tables: [TableState]) -> String {
        var text: [UInt8] = []
        for table in tables.sorted(by: { $0.id < $1.id }) {
            text.appendUTF8("*" + table.id.description + "\n")
            for chain in table.chains {
                text.appendUTF8(":" + chain.name.rawValue + "\n")
                for rule in chain.rules { IptablesSaveText.appendLine(rule, chain: chain.name, to: &text) }
            }
            for jump in table.jumps {
                IptablesSaveText.appendLine(jump.rule, chain: ChainName(jump.builtinChain.rawValue), to: &text)
            }
        }
        return FNV1a.hexDigest(String(decoding: text, as: UTF8.self))
    }
}
