import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetDataplane
import PodNetIptables
import PodNetNetlink
import PodNetSystem

/// The node a CNI request acts on: the node config (the conflist repeats none of it),
/// the allocation store under `dataDir`, and the dataplane of the caller's network
/// namespace (the node's).
///
/// Two locks, always taken in this order when both are held: the store's, around the
/// allocation bookkeeping (an address is picked and recorded by one request at a
/// time, so parallel ADDs never share one), then the namespace's, around kernel work
/// (exclusive for node-level changes, shared for a pod's own attachment on a prepared
/// node, so that parallel ADDs attach their pods side by side). ADD holds no lock
/// while it waits for the other. The record is written before the kernel is touched
/// (but for the wait of a pod of Kubernetes, `PolicyWait`, which begins before it, under
/// the store's lock alone) and removed only after the kernel's state is gone, so a podnet
/// killed at any point leaves either no allocation (and nothing in the kernel but perhaps
/// a wait entry, which the next ADD of its address or apply takes out) or a whole one,
/// which DEL and GC release.
struct CNINode {
    let request: CNIPluginConfig
    let config: NodeConfig
    let store: AllocationStore
    let dataplane: NodeDataplane
    let ownership: Ownership

    init(_ request: CNIPluginConfig, warn: (String) -> Void) throws(CNIError) {
        self.request = request
        config = try Self.loadNodeConfig(request.nodeConfigPath, warn: warn)
        guard !config.node.podCIDRs.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "the node config \(request.nodeConfigPath) gives this node no pod CIDR",
                           details: "node.podCIDRs: set this node's pod CIDRs (one per family) in the config itself")
        }
        store = AllocationStore(directory: request.dataDirectory)
        dataplane = NodeDataplane(namespace: nil, iptables: Iptables(namespace: nil, lock: .fromEnvironment(wait: .seconds(5))))
        ownership = Ownership(config)
    }

    /// The node config, or code 7 with `podnet validate`'s messages in the details.
    static func loadNodeConfig(_ path: String, warn: (String) -> Void) throws(CNIError) -> NodeConfig {
        do {
            let loaded = try ConfigLoader.load(configPath: path)
            loaded.warnings.forEach { warn($0.description) }
            return loaded.config
        } catch {
            throw CNIError(.invalidNetworkConfig, "invalid node config \(path)", details: error.description)
        }
    }

    // MARK: ADD

    func add(_ environment: CNIEnvironment) throws(CNIError) -> CNIResult {
        let id = AttachmentID(containerID: environment.containerID, ifname: environment.ifname)
        let (allocation, desired) = try locked { () throws(CNIError) -> (Allocation, DesiredState) in
            let allocations = try read()
            if let existing = allocations.first(where: { $0.id == id }) {
                throw CNIError(.failure, "container \(id.containerID) already has interface \(id.ifname) on this network",
                               details: "it holds " + existing.addresses.map(\.description).joined(separator: ", ")
                                   + "; DEL releases it")
            }
            var taken = AddressPool.reserved(by: config).union(allocations.flatMap(\.addresses))
            var addresses: [IPAddress] = []
            for cidr in config.node.podCIDRs.sorted() {
                guard let address = AddressPool.next(in: cidr, taken: taken) else {
                    throw CNIError(.failure, "no free address in \(cidr)",
                                   details: "all \(AddressPool.capacity(of: cidr)) addresses an attachment can get are taken "
                                       + "(\(allocations.count) attachments, the rest by the node config); DEL or GC releases them")
                }
                taken.insert(address)
                addresses.append(address)
            }
            let allocation = Allocation(id: id, netns: environment.netns, addresses: addresses,
                                        portMappings: request.portMappings, podName: environment.kubernetesPod)
            // The node-level state (tables included) depends on the attachments' host ports,
            // not on their pods: those without host ports are left out of this request's view
            // (compiling every pod of a busy node for each ADD would make parallel ADDs quadratic).
            let withHostPorts = allocations.filter { !$0.portMappings.isEmpty && $0.namespaceExists }
            try HostPortClaims.check(allocation, against: config.including(withHostPorts).hostPorts)
            let desired = try compile(config.including(withHostPorts + [allocation]))
            // The wait begins before the record exists: `podnet watch` places the pod the
            // moment its record appears, and a wait begun after that would never end. An
            // attachment that does not wait takes its address out of the set instead: a
            // run killed between its wait and its record may have left it there.
            let waiting = waitMembers(allocation)
            if !waiting.isEmpty {
                try kernel { try dataplane.addToSets(waiting) }
            } else {
                try kernel { try dataplane.removeFromSets(waitEntries(of: allocation)) }
            }
            do throws(CNIError) {
                try record { () throws(AllocationStore.Failure) in try store.write(allocation) }
            } catch {
                if !waiting.isEmpty { try? dataplane.removeFromSets(waiting) }
                throw error
            }
            return (allocation, desired)
        }
        let pod = desired.pods.first { $0.name == allocation.modelName }!
        var undone = true
        do throws(CNIError) {
            // A pod without host ports changes no table: on a node prepared as recorded it
            // is attached beside other such ADDs; anything else takes the node-level path.
            // On a node with NetworkPolicy (`podnet apply --cluster`) it joins the sets
            // that check its port's source addresses: set members, no table, no List read.
            var attached = false
            // The record is read holding the lock: an apply forgets it before changing the
            // node and records it once done, both outside the lock's shared holders.
            if allocation.portMappings.isEmpty {
                attached = try kernel {
                    try dataplane.withNamespaceLock(shared: true) {
                        guard let stamp = store.nodeStamp() else { return false }
                        return try dataplane.attachOnPreparedNode(pod, desired: desired, ownership: ownership, recorded: stamp,
                                                                  members: sourceCheck(of: pod))
                    }
                }
            }
            if !attached {
                try prepareNode(AttachmentScope(hostInterfaces: [pod.hostInterface], joining: sourceCheck(of: pod)), undone: &undone)
            }
        } catch {
            // The run undid its kernel changes, so the address goes back too; when an undo
            // failed, or the kernel holds the pod's host end under either of its names
            // (attachPod's own clean-up can be refused as well; an apply may have attached
            // it meanwhile), the record stays for the runtime's DEL to finish the job.
            try? locked { () throws(CNIError) in
                guard undone, !Self.kernelHolds(pod), (try? store.remove(id)) != nil else { return }
                try? dataplane.removeFromSets(waitMembers(allocation))
            }
            throw error
        }
        return result(pod, desired: desired, environment: environment)
    }

    /// The node-level state made or checked whole (tables included) with the pods of
    /// `scope` attached or detached, holding the namespace's lock exclusively, from the
    /// records as they are then (but those `releasing`): the tables hold every host port
    /// recorded so far, whichever request writes them last. NetworkPolicy stays as
    /// `podnet apply --cluster` or `podnet watch` left it (they read the List; a request
    /// does not), but for the scope's pods' source-check entries. The stamp records the
    /// outcome.
    private func prepareNode(_ scope: AttachmentScope, releasing released: Set<AttachmentID> = [],
                             undone: inout Bool) throws(CNIError) {
        var failedUndo = false
        try kernel {
            try dataplane.withNamespaceLock(shared: false) {
                let kept = try read().filter { !released.contains($0.id) && $0.namespaceExists }
                let desired = try compile(config.including(kept))
                do {
                    _ = try dataplane.apply(desired, ownership: ownership, scope: scope)
                } catch {
                    if let failure = error as? ApplyFailure, !failure.rollbackFailures.isEmpty { failedUndo = true }
                    try? store.recordNodeStamp(nil)
                    throw error
                }
                let stamp = try dataplane.stamp(for: desired, bridgeName: config.bridge.name)
                try record { () throws(AllocationStore.Failure) in try store.recordNodeStamp(stamp) }
            }
        }
        if failedUndo { undone = false }
    }

    /// The pod's entries in the sets that check pods' source addresses, two per family:
    /// they exist while the node has NetworkPolicy (`PodSourceCheck`).
    private func sourceCheck(of pod: PodAttachment) -> [PodSetMembers] {
        config.families.flatMap { family in
            PodSourceCheck.entries(port: pod.hostInterface, addresses: pod.addresses.map(\.address), family: family)
                .map { PodSetMembers(set: $0.set, entries: [$0.entry]) }
        }
    }

    /// A pod of Kubernetes's address in the set of pods the List does not place yet
    /// (`PolicyWait`: a request reads no List, so it cannot know the pod's policies); none
    /// for a container Kubernetes did not make. ADD adds it before the record and never
    /// again: `podnet watch` may have ended the wait by the time the links are made.
    private func waitMembers(_ allocation: Allocation) -> [PodSetMembers] {
        allocation.waitsForTheList ? waitEntries(of: allocation) : []
    }

    /// The attachment's addresses in the wait set, whether it waits or not.
    private func waitEntries(of allocation: Allocation) -> [PodSetMembers] {
        PolicyWait.entries(addresses: allocation.addresses, families: config.families)
            .map { PodSetMembers(set: $0.set, entries: [$0.entry]) }
    }

    /// Whether the node has a link under the pod's host-end name or its temporary name
    /// (true also when the node cannot be read: the record then stays, to be safe).
    private static func kernelHolds(_ pod: PodAttachment) -> Bool {
        do {
            let netlink = try Netlink(namespace: nil)
            return try netlink.link(named: pod.hostInterface) != nil
                || netlink.link(named: UnfinishedLink.temporaryName(for: pod.hostInterface)) != nil
        } catch {
            return true
        }
    }

    /// The result: the bridge, the host end and the container's interface; the
    /// addresses with the bridge's as gateway; a default route per family.
    private func result(_ pod: PodAttachment, desired: DesiredState, environment: CNIEnvironment) -> CNIResult {
        let host = try? Netlink(namespace: nil).link(named: pod.hostInterface)
        let interfaces = [
            CNIResult.Interface(name: config.bridge.name, mac: desired.bridge?.macAddress),
            CNIResult.Interface(name: pod.hostInterface, mac: host?.macAddress, mtu: host?.mtu),
            CNIResult.Interface(name: pod.podInterface, mac: pod.podMACAddress, mtu: host?.mtu, sandbox: environment.netns),
        ]
        let ips = pod.addresses.map { address in
            CNIResult.IP(address: address, gateway: pod.gateways.first { $0.family == address.family }, interface: 2)
        }
        let routes = pod.gateways.map { gateway in
            CNIResult.Route(destination: IPNetwork(network: gateway.masked(toPrefix: 0), prefixLength: 0), gateway: gateway)
        }
        return CNIResult(interfaces: interfaces, ips: ips, routes: routes)
    }

    // MARK: DEL and GC

    /// DEL: the host end (which takes the container's interface with it), the host-port
    /// rules and the address go; nothing to do for an attachment podnet does not hold.
    /// It needs neither the container's namespace nor prevResult.
    func delete(_ environment: CNIEnvironment) throws(CNIError) {
        let id = AttachmentID(containerID: environment.containerID, ifname: environment.ifname)
        try locked { () throws(CNIError) in
            let allocations = try read()
            guard allocations.contains(where: { $0.id == id }) else { return }
            try release(allocations.filter { $0.id == id })
        }
    }

    /// GC: releases every attachment the runtime no longer lists.
    func collectGarbage(keeping valid: [AttachmentID]) throws(CNIError) {
        let valid = Set(valid)
        try locked { () throws(CNIError) in
            let allocations = try read()
            let released = allocations.filter { !valid.contains($0.id) }
            guard !released.isEmpty else { return }
            try release(released)
        }
    }

    /// Pods without host ports need only their host ends removed; host ports change the
    /// tables, which the node-level path rewrites from the attachments that stay.
    private func release(_ released: [Allocation]) throws(CNIError) {
        let byName = Dictionary(released.map { ($0.modelName, $0) }, uniquingKeysWith: { first, _ in first })
        let pods = try compile(config.including(released)).pods.filter { byName[$0.name] != nil }
        let hostInterfaces = pods.map(\.hostInterface)
        let members = pods.flatMap { sourceCheck(of: $0) + waitMembers(byName[$0.name]!) }
        if released.allSatisfy(\.portMappings.isEmpty) {
            try kernel {
                try dataplane.withNamespaceLock(shared: true) {
                    try dataplane.detachPods(hostInterfaces: hostInterfaces, members: members)
                }
            }
        } else {
            // A failed release keeps every record, whatever its undo did.
            var undone = true
            try prepareNode(AttachmentScope(hostInterfaces: Set(hostInterfaces), leaving: members),
                            releasing: Set(released.map(\.id)), undone: &undone)
        }
        for allocation in released {
            try record { () throws(AllocationStore.Failure) in try store.remove(allocation.id) }
        }
    }

    // MARK: CHECK

    /// CHECK: the allocation, the host end, the container's interface (addresses, MAC,
    /// default routes) and the host-port rules against what ADD made and prevResult
    /// says; any difference is an error naming it.
    func check(_ environment: CNIEnvironment) throws(CNIError) {
        guard let previous = request.prevResult else {
            throw CNIError(.invalidNetworkConfig, "prevResult: required for CHECK")
        }
        let previousResult = try CNIResult(parsing: previous)
        let id = AttachmentID(containerID: environment.containerID, ifname: environment.ifname)
        let allocations = try read()
        guard let allocation = allocations.first(where: { $0.id == id }) else {
            throw CNIError(.unknownContainer, "podnet holds no attachment for container \(id.containerID) interface \(id.ifname)")
        }
        let desired = try compile(config.including(allocations))
        let pod = desired.pods.first { $0.name == allocation.modelName }!
        let drift = AttachmentCheck(pod: pod, allocation: allocation, desired: desired, previous: previousResult,
                                    netns: environment.netns, dataplane: dataplane).differences()
        guard drift.isEmpty else {
            throw CNIError(.failure, "\(id.containerID)/\(id.ifname) differs from what ADD made",
                           details: drift.joined(separator: "\n"))
        }
    }

    // MARK: STATUS

    /// STATUS: ready when the node config is valid, gives a pod CIDR and has a free
    /// address in each; code 50 with the reason otherwise.
    static func status(_ request: CNIPluginConfig, warn: (String) -> Void) throws(CNIError) {
        let node: CNINode
        do {
            node = try CNINode(request, warn: warn)
        } catch {
            throw CNIError(.notAvailable, error.message, details: error.details)
        }
        let allocations: [Allocation]
        do {
            allocations = try node.store.all()
        } catch {
            throw CNIError(.notAvailable, "cannot read the allocations", details: error.description)
        }
        let taken = AddressPool.reserved(by: node.config).union(allocations.flatMap(\.addresses))
        for cidr in node.config.node.podCIDRs where AddressPool.next(in: cidr, taken: taken) == nil {
            throw CNIError(.notAvailable, "no free address in \(cidr)",
                           details: "\(allocations.count) attachments hold the addresses; DEL or GC releases them")
        }
    }

    // MARK: Pieces

    private func locked<T>(_ body: () throws(CNIError) -> T) throws(CNIError) -> T {
        do {
            return try store.withLock { try body() }
        } catch let error as CNIError {
            throw error
        } catch let error as AllocationStore.Failure {
            throw error.timedOut ? CNIError(.tryAgainLater, "the allocation store is busy", details: error.description)
                : CNIError(.ioFailure, "the allocation store", details: error.description)
        } catch {
            throw CNIError(.failure, "\(error)")
        }
    }

    private func read() throws(CNIError) -> [Allocation] {
        try record { () throws(AllocationStore.Failure) in try store.all() }
    }

    private func record<T>(_ body: () throws(AllocationStore.Failure) -> T) throws(CNIError) -> T {
        do {
            return try body()
        } catch {
            throw CNIError(.ioFailure, "the allocation store", details: error.description)
        }
    }

    /// The node config's state with the attachments as pods. Never a cluster List's
    /// policies: a request leaves NetworkPolicy to the runs that read the List.
    private func compile(_ config: NodeConfig) throws(CNIError) -> DesiredState {
        do {
            return try Compiler.compile(config)
        } catch {
            throw CNIError(.failure, "cannot compile the node's state", details: "\(error)")
        }
    }

    /// Kernel work: the namespace's lock busy for too long is code 11 (try again later),
    /// any other failure code 999 with what podnet could not do.
    private func kernel<T>(_ body: () throws -> T) throws(CNIError) -> T {
        do {
            return try body()
        } catch let error as CNIError {
            throw error
        } catch {
            if case DataplaneError.lockTimeout = error {
                throw CNIError(.tryAgainLater, "another podnet run holds the node", details: "\(error)")
            }
            throw CNIError(.failure, "podnet could not change the node", details: "\(error)")
        }
    }
}
