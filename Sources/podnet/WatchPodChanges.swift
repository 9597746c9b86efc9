import PodNet
import PodNetCNI
import PodNetCompiler
import PodNetConfig
import PodNetDataplane

extension WatchSession {
    /// Pods come, gone or changed: where policy is concerned that is set members only
    /// (`PolicyMembership`), written without reading or committing a table. Nil when a
    /// change needs more (a named port taking a number no rule has): a whole apply.
    mutating func applyPodChanges(_ changes: [ObjectKey: [UInt8]?]) throws(ConfigError) -> String? {
        guard let config, let desired else { return nil }
        var membership = membership
        // Taken into `pods` once applied: a copy of 10,000 pods per event would cost more than the event.
        var podsAfter: [(ObjectKey, ClusterPod?)] = []
        var operations: [IPSetOperation] = []
        // Wait-set entries of pods the List now places, wherever a CNI ADD put them.
        var released: [PodSetMembers] = []
        for key in changes.keys.sorted() {
            var pod: ClusterPod?
            if let json = objects[key] { pod = try readPod(ClusterObject(key: key, json: json)).map(placement.place) }
            guard pod != pods[key] else { continue }
            podsAfter.append((key, pod))
            guard membership != nil else {
                // Without a policy no pod is in any set; with one, the sets were not worked out.
                if !hasPolicies { continue }
                return nil
            }
            guard let moves = membership!.apply(from: pods[key], to: pod) else { return nil }
            operations += moves
            released += Self.endedWaits(of: pod, config: config, placement: placement)
        }
        let after = desired.applying(memberChanges: operations + released.flatMap { member in
            member.entries.map { IPSetOperation.delete(set: member.set, $0) }
        })
        if !operations.isEmpty || !released.isEmpty {
            let dataplane = node.dataplane()
            let result: ApplyResult
            do {
                // The node stamp stays: it sums what the node config decides, and set members
                // are the List's (the CNI plugin leaves them as it finds them).
                result = try dataplane.apply(memberChanges: operations, releasing: released, desired: after,
                                             ownership: Ownership(config))
            } catch {
                // A set that drifted (destroyed, an entry already in it): the whole apply repairs it.
                Diagnostics.warn("set members could not be changed alone (\(error)): applying in full")
                return nil
            }
            try? report(result, node, bridge: after.bridge)
        }
        self.membership = membership
        for (key, pod) in podsAfter { pods[key] = pod }
        self.desired = after
        guard !operations.isEmpty else {
            return released.isEmpty ? Self.noSetChanges : "no policy set changes; waits ended where there were any"
        }
        return "set members only, no table read or committed"
    }

    /// What a batch that moved no set member did.
    static let noSetChanges = "no set changes"

    /// The wait-set entries (`PolicyWait`) a pod's change releases: its addresses on this
    /// node (those it had before too: the attachment may be new, a sandbox made again at
    /// the same address), but one an attachment of another pod holds (a stale report: the
    /// compile would keep that pod waiting too). The CNI plugin put them there (or not: a
    /// pod of the config, a pod without an attachment of podnet's), which only the kernel
    /// knows, so they are taken out where present; the pod's policy sets hold it by then
    /// (`apply(memberChanges:releasing:)` takes them out last).
    static func endedWaits(of new: ClusterPod?, config: NodeConfig, placement: AttachmentPlacement) -> [PodSetMembers] {
        guard let new, new.takesPartInPolicy, new.nodeName == config.node.name else { return [] }
        let name = KubernetesPodName(namespace: new.namespace, name: new.name)
        return new.ips.filter { address in
            config.families.contains(address.family) && (placement.pod(holding: address).map { $0 == name } ?? true)
        }.map { address in
            PodSetMembers(set: PolicyWait.setName(address.family), entries: [IPSetEntry(host: address)])
        }
    }

    /// One Pod object read and checked as an item of a List is.
    func readPod(_ object: ClusterObject) throws(ConfigError) -> ClusterPod? {
        try loadAlone(object, name: "\(object.key)").cluster?.pods.first
    }
}
