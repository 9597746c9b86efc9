import PodNet

/// On a node with NetworkPolicy, a pod the container runtime attached for Kubernetes
/// waits, cut off, until the cluster's List places it: until then podnet cannot know
/// its labels, so it cannot know which policies isolate it or which peers admit it,
/// and the API wants filtering in force "from the very first instant that any
/// container in that Pod is started" (a pod in no set would be isolated by nothing).
///
/// The CNI plugin reads no List, so ADD puts the pod's address in `PODNET-W4-...` /
/// `PODNET-W6-...` (hash:ip) before its links exist, and two rules of PODNET-POLICY
/// reject what such an address sends or is sent. The List places the pod once it has
/// it on this node at that address: the kubelet's report of the address ADD gave, or,
/// before it, the pod without an address, which then stands at its attachment's
/// (`AttachmentPlacement`). Then the pod is in the policy sets its labels put it in,
/// and `podnet watch` (which sees the attachment's record appear, milliseconds after
/// ADD wrote it) or the next apply takes it out of the wait set. A container Kubernetes did
/// not make (no K8S_POD_NAMESPACE and K8S_POD_NAME in CNI_ARGS) and the node config's
/// own pods never wait: the List will never name them.
///
/// Rejected rather than dropped, so that a container that starts talking at once
/// learns at once (and retries) rather than after its timeout.
public enum PolicyWait {
    /// `PODNET-W4-...` / `PODNET-W6-...`, the same name in every run and on every node.
    /// "W" sorts after every other kind of policy set, and an apply edits sets in name
    /// order: a pod the apply places is in its policy sets before its wait ends.
    public static func setName(_ family: IPFamily) -> String {
        PolicyRules.setName("W", key: "pods waiting for the List", family: family)
    }

    /// A waiting pod's entries, by set: its address of each family.
    public static func entries(addresses: [IPAddress], families: [IPFamily]) -> [(set: String, entry: IPSetEntry)] {
        families.compactMap { family in
            addresses.first { $0.family == family }.map { (setName(family), IPSetEntry(host: $0)) }
        }
    }

    /// Whether the List places `pod`'s address of `family`: `listed`, the List's pod of the
    /// same namespace and name (at its attachment's address until the kubelet reports it:
    /// `AttachmentPlacement`), is on this node, takes part in policy and holds it. A pod
    /// that waits for nothing (the config's, a container Kubernetes did not make) is placed.
    public static func isPlaced(_ pod: PodSpec, family: IPFamily, listed: ClusterPod?, config: NodeConfig) -> Bool {
        guard pod.kubernetesPod != nil, let address = pod.ips.first(where: { $0.family == family }) else { return true }
        guard let listed else { return false }
        return PolicyRules.isLocal(listed, on: config) && listed.takesPartInPolicy && listed.ips.contains(address)
    }

    /// The wait entries of `pods` (the runtime's attachments of pods of Kubernetes among
    /// them), per family, as the List places them or not: `listed` gives the List's pod
    /// of a name. The compile makes the wait set of those not placed; `podnet watch` ends
    /// the waits of those placed.
    public static func entries(of pods: [PodSpec], config: NodeConfig, listed: (KubernetesPodName) -> ClusterPod?)
        -> (waiting: [IPFamily: [IPSetEntry]], placed: [IPFamily: [IPSetEntry]]) {
        var waiting: [IPFamily: [IPSetEntry]] = [:], placed: [IPFamily: [IPSetEntry]] = [:]
        for pod in pods {
            guard let name = pod.kubernetesPod else { continue }
            let listedPod = listed(name)
            for family in config.families {
                guard let address = pod.ips.first(where: { $0.family == family }) else { continue }
                if isPlaced(pod, family: family, listed: listedPod, config: config) {
                    placed[family, default: []].append(IPSetEntry(host: address))
                } else {
                    waiting[family, default: []].append(IPSetEntry(host: address))
                }
            }
        }
        return (waiting, placed)
    }

    /// The wait sets with the addresses of the node's attachments the List does not place,
    /// per family. The List's pods are looked up by name only for attachments that wait.
    static func sets(config: NodeConfig, cluster: ClusterState) -> [IPFamily: IPSetState] {
        let names = Set(config.pods.compactMap(\.kubernetesPod))
        var listed: [KubernetesPodName: ClusterPod] = [:]
        for pod in cluster.pods {
            let name = KubernetesPodName(namespace: pod.namespace, name: pod.name)
            if names.contains(name), listed[name] == nil { listed[name] = pod }
        }
        let waiting = entries(of: config.pods, config: config, listed: { listed[$0] }).waiting
        return Dictionary(uniqueKeysWithValues: config.families.map { family in
            (family, IPSetState(name: setName(family), type: .hashIP, family: family, entries: Set(waiting[family] ?? [])))
        })
    }

    /// PODNET-POLICY's rules for waiting pods: what they send and what is sent to them.
    static func rules(_ family: IPFamily) -> [Rule] {
        let reject: RejectKind = family == .ipv4 ? .ipv4(8) : .ipv6(1)
        return [(SetMatch.Direction.source, "from"), (.destination, "to")].map { direction, word in
            Rule(matches: [.comment("podnet: \(word) a pod the cluster's List does not place yet (its policies are not known)"),
                           .set(SetMatch(setName(family), direction))],
                 target: .reject(reject))
        }
    }
}
