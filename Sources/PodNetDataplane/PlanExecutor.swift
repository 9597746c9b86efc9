import PodNet
import PodNetIptables
import PodNetNetlink
import PodNetSystem

/// What an apply changed, as a plan of what was actually done (table operations
/// are recomputed under the xtables lock, so they can differ from the dry run's
/// when another program changed the table in between), with the routes the kernel
/// refused in its `refusedRoutes`.
public struct ApplyResult: Sendable {
    public var executed: Plan
    /// What went through but not quite as planned (a table committed without its
    /// rules' counters), for the operator.
    public var warnings: [String] = []
}

/// Why an apply failed, and whether what it had already done was undone.
public struct ApplyFailure: Error, CustomStringConvertible {
    public var cause: DataplaneError
    /// What was done before the failure and then undone.
    public var rolledBack: Plan
    /// Undo steps that failed in turn: this is the state left behind.
    public var rollbackFailures: [String]

    public var description: String {
        var text = "apply failed: \(cause)"
        if rollbackFailures.isEmpty {
            text += rolledBack.isEmpty ? "\nnothing had been changed" : "\nevery change of this run was undone"
        } else {
            text += "\nrollback failed too; the node is left with:\n" + rollbackFailures.map { "  \($0)" }.joined(separator: "\n")
        }
        return text
    }
}

/// Executes a plan against the kernel, in an order that never leaves anything
/// briefly missing (new state in place before stale state goes), and undoes
/// every step already taken when one fails.
public final class PlanExecutor {
    let namespace: NetworkNamespace?
    var iptables: Iptables
    let netlink: Netlink
    let sessions: NetlinkSessions
    /// Undo steps, most recent last.
    private var journal: [(description: () -> String, undo: () throws -> Void)] = []
    private var done = Plan()
    private var warnings: [String] = []
    /// New nexthops the kernel refused in this run: their routes are not sent.
    private var refusedNexthopIDs = Set<UInt32>()
    /// NetworkPolicy's chains and the jumps to them are left as each table holds them
    /// (`TableState.keepingPolicy`): a CNI request's run, which compiles no List.
    var keepsPolicyAsFound = false

    public convenience init(namespace: NetworkNamespace?, iptables: Iptables) throws(DataplaneError) {
        try self.init(namespace: namespace, iptables: iptables, sessions: NetlinkSessions())
    }

    init(namespace: NetworkNamespace?, iptables: Iptables, sessions: NetlinkSessions) throws(DataplaneError) {
        self.namespace = namespace
        self.iptables = iptables
        self.sessions = sessions
        do {
            netlink = try sessions.open(in: namespace)
        } catch {
            throw .netlink(error, while: "opening a netlink socket")
        }
    }

    /// Runs `plan`. The iptables part is not taken from the plan: each table in `tables`
    /// is read under the xtables lock and its operations computed there against
    /// `desired`, so that they fit what the table holds at commit time.
    /// `observedSetIndexes`: the sets' indexes as the plan's observation found them,
    /// still right for the commits when the plan makes and destroys no set.
    public func execute(_ plan: Plan, desired: DesiredState, bridgeName: String?,
                        routeProtocol: UInt8, tables: [TableID],
                        observedSetIndexes: IPSetIndexes? = nil) throws(ApplyFailure) -> ApplyResult {
        // Typed: every failure of a step is a DataplaneError, so none can be taken for another.
        do throws(DataplaneError) {
            guard plan.conflicts.isEmpty else { throw DataplaneError.conflicts(plan.conflicts) }
            try executeSteps(plan, desired: desired, bridgeName: bridgeName, routeProtocol: routeProtocol, tables: tables,
                             observedSetIndexes: observedSetIndexes)
        } catch {
            throw rollBack(after: error)
        }
        return ApplyResult(executed: done, warnings: warnings)
    }

    private func executeSteps(_ plan: Plan, desired: DesiredState, bridgeName: String?,
                              routeProtocol: UInt8, tables: [TableID], observedSetIndexes: IPSetIndexes?) throws(DataplaneError) {
        let bridgeLinks = plan.links.filter { if case .setHairpin = $0 { return false }; if case .deleteBridge = $0 { return false }; return true }
        for operation in bridgeLinks { try link(operation) }
        for case .add(let address) in plan.addresses { try addAddress(address) }
        // A path for packets closes before the commits that may remove its guard
        // (route_localnet off before the 127.0.0.0/8 guard goes) and opens only after
        // the commits that put its guard in (route_localnet on after the guard,
        // forwarding on after masquerade and forward-accept); pods attach after both,
        // so none of their packets is forwarded un-NATed and kept so by conntrack.
        for operation in plan.sysctls where operation.direction == .closes { try sysctl(operation) }
        // Sets are filled before the rules that match them go in, and those nobody
        // wants are destroyed once no rule matches them.
        let ipsetPhases = plan.ipsets.phasedAroundTables
        try ipsets(ipsetPhases.beforeTables)
        // Rules name sets by the kernel's index, known once the sets are made; member
        // changes alone (a pod come or gone) leave every index as observation found it.
        if !tables.isEmpty {
            let onlyMembers = ipsetPhases.beforeTables.allSatisfy { operation in
                switch operation {
                case .add, .delete: return true
                case .create, .swap, .destroy: return false
                }
            }
            if let observedSetIndexes, onlyMembers {
                iptables.sets = observedSetIndexes
            } else {
                iptables.sets = try observer.observeIPSetIndexes(wanted: !desired.ipsets.isEmpty)
            }
        }
        for id in tables { try commit(id, desired: desired.table(id)) }
        try ipsets(ipsetPhases.afterTables)
        clearStaleFlowsOfUDPHostPorts(desired: desired, bridgeName: bridgeName, tables: tables)
        for operation in plan.sysctls where operation.direction == .opens { try sysctl(operation) }
        // A pod whose spec changed is made again under the same names (its host end,
        // eth0 in its namespace), so its old attachment has to go first.
        let remade = Set(plan.pods.compactMap { operation -> String? in
            if case .attach(let pod, _) = operation { return pod.hostInterface }
            return nil
        })
        for case .detach(let pod) in plan.pods where remade.contains(pod.hostInterface) { try detach(pod, remade: true) }
        for case .attach(let pod, let mtu) in plan.pods {
            try attach(pod, mtu: mtu, bridgeName: bridgeName, hairpin: desired.bridge?.hairpinPorts ?? false,
                       routeProtocol: routeProtocol)
        }
        // A nexthop is in place before the routes that use it, and goes only after they
        // moved off it (the kernel deletes the routes still using a deleted nexthop).
        try nexthops(plan.nexthops.filter { if case .delete = $0 { return false }; return true })
        try routes(plan.routes.filter { if case .delete = $0 { return false }; return true })
        try routes(plan.routes.filter { if case .delete = $0 { return true }; return false })
        try nexthops(plan.nexthops.filter { if case .delete = $0 { return true }; return false })
        for operation in plan.links {
            if case .setHairpin = operation { try link(operation) }
        }
        for case .delete(let address) in plan.addresses { try deleteAddress(address) }
        for case .detach(let pod) in plan.pods where !remade.contains(pod.hostInterface) { try detach(pod, remade: false) }
        for operation in plan.links {
            if case .deleteBridge = operation { try link(operation) }
        }
    }

    /// Observation through this run's netlink sessions (the sets' kernel indexes).
    private var observer: NodeObserver {
        var observer = NodeObserver(namespace: namespace, iptables: iptables)
        observer.sessions = sessions
        return observer
    }

    // MARK: Steps

    private func link(_ operation: LinkOperation) throws(DataplaneError) {
        let netlink = self.netlink
        do {
            switch operation {
            case .createBridge(let bridge, let mtu):
                try netlink.createBridge(bridge, mtu: mtu)
                record("delete bridge \(bridge.name)") { try netlink.deleteBridge(named: bridge.name) }
            case .setMTU(let name, let from, let to):
                try netlink.setLink(try required(name), LinkChanges(mtu: to))
                record("set \(name) mtu \(from)") { try netlink.setLink(try self.required(name), LinkChanges(mtu: from)) }
            case .setMACAddress(let name, let from, let to):
                try netlink.setLink(try required(name), LinkChanges(macAddress: to))
                record("set \(name) address \(from)") { try netlink.setLink(try self.required(name), LinkChanges(macAddress: from)) }
            case .setPromiscuous(let name, let on):
                try netlink.setLink(try required(name), LinkChanges(promiscuous: on))
                record("set \(name) promisc \(!on)") { try netlink.setLink(try self.required(name), LinkChanges(promiscuous: !on)) }
            case .setUp(let name):
                try netlink.setLink(try required(name), LinkChanges(up: true))
                record("set \(name) down") { try netlink.setLink(try self.required(name), LinkChanges(up: false)) }
            case .setHairpin(let port, let on):
                try netlink.setHairpin(on, port: try required(port))
                record("set \(port) hairpin \(!on)") { try netlink.setHairpin(!on, port: try self.required(port)) }
            case .deleteBridge(let name):
                // Teardown, or a bridge of podnet's under an old name once its pods are
                // on the new one; last: nothing after it can fail, so it needs no undo.
                try netlink.deleteBridge(named: name)
            case .deleteUnfinished(let name):
                // First in the plan's links, so before anything is made under the same
                // temporary name; a half-made link is never put back.
                try netlink.deleteUnfinishedLink(named: name)
            }
        } catch {
            recordLeftBehind(error)
            throw .netlinkOperation(error)
        }
        done.links.append(operation)
    }

    private func addAddress(_ address: InterfaceAddress) throws(DataplaneError) {
        let netlink = self.netlink
        do {
            try netlink.addAddress(address.address, prefixLength: address.prefixLength, to: try required(address.interface),
                                   skipDuplicateDetection: address.family == .ipv6)
        } catch {
            throw .netlinkOperation(error)
        }
        record(IpCommandText.address("del", address)) {
            try netlink.deleteAddress(address.address, prefixLength: address.prefixLength, from: try self.required(address.interface))
        }
        done.addresses.append(.add(address))
    }

    private func deleteAddress(_ address: InterfaceAddress) throws(DataplaneError) {
        let netlink = self.netlink
        do {
            try netlink.deleteAddress(address.address, prefixLength: address.prefixLength, from: try required(address.interface))
        } catch {
            throw .netlinkOperation(error)
        }
        record(IpCommandText.address("add", address)) {
            try netlink.addAddress(address.address, prefixLength: address.prefixLength, to: try self.required(address.interface),
                                   skipDuplicateDetection: address.family == .ipv6)
        }
        done.addresses.append(.delete(address))
    }

    private func sysctl(_ operation: SysctlOperation) throws(DataplaneError) {
        let sysctls = Sysctls(namespace: namespace)
        do {
            try sysctls.set(SysctlSetting(operation.key, operation.to))
        } catch {
            throw .sysctl(error)
        }
        if let previous = operation.from {
            record(IpCommandText.sysctl(operation.key, previous)) { try sysctls.set(SysctlSetting(operation.key, previous)) }
        }
        done.sysctls.append(operation)
    }

    private func attach(_ pod: PodAttachment, mtu: Int, bridgeName: String?, hairpin: Bool,
                        routeProtocol: UInt8) throws(DataplaneError) {
        let netlink = self.netlink
        do {
            try netlink.attachPod(pod, mtu: mtu, bridge: try required(bridgeName ?? ""), hairpin: hairpin,
                                  routeProtocol: routeProtocol)
        } catch {
            recordLeftBehind(error)
            throw .netlinkOperation(error)
        }
        record("ip link del \(pod.hostInterface)") { try netlink.detachPod(hostInterface: pod.hostInterface) }
        done.pods.append(.attach(pod, mtu: mtu))
    }

    /// Pods go last: a detached pod cannot be re-attached by an undo (its spec is gone
    /// from the config), so nothing that can fail comes after a detach but other detaches.
    /// The exception is a pod being `remade` with a changed spec: its old attachment
    /// must go before the new one is made, and a rollback reports that it stays gone.
    /// Whether the node has `pod`'s host end, marked as this very pod.
    func holdsPod(_ pod: PodAttachment) throws(DataplaneError) -> Bool {
        do {
            return try netlink.link(named: pod.hostInterface).map { PodMarker(alias: $0.alias) == PodMarker(pod) } ?? false
        } catch {
            throw .netlink(error, while: "reading \(pod.hostInterface)")
        }
    }

    /// A pod's host end (its peer goes with it) and a half-made one under its temporary
    /// name; nothing to do when neither is there. Not undone: a DEL only removes.
    func detachPod(hostInterface: String) throws(DataplaneError) {
        do {
            try netlink.detachPod(hostInterface: hostInterface)
            try netlink.deleteUnfinishedLink(named: UnfinishedLink.temporaryName(for: hostInterface))
        } catch {
            throw .netlinkOperation(error)
        }
    }

    private func detach(_ pod: ObservedPod, remade: Bool) throws(DataplaneError) {
        do {
            try netlink.detachPod(hostInterface: pod.hostInterface)
        } catch {
            throw .netlinkOperation(error)
        }
        if remade {
            record("re-attach pod \(pod.name) as it was") { throw PreviousAttachmentGone(pod: pod.name) }
        }
        done.pods.append(.detach(pod))
    }

    /// A NETLINK_NETFILTER socket only for a plan that changes sets: a node without
    /// policies never opens one.
    private func ipsets(_ operations: [IPSetOperation]) throws(DataplaneError) {
        guard !operations.isEmpty else { return }
        let sets: IPSets
        do {
            sets = try sessions.openIPSets(in: namespace)
        } catch {
            throw .netlink(error, while: "opening an ipset socket")
        }
        try IPSetSteps(ipsets: sets,
                       journal: { description, undo in self.record(description, undo) },
                       completed: { self.done.ipsets += $0 }).run(operations)
    }

    /// One transaction: the table's operations recomputed from what the table holds
    /// under the xtables lock, committed once.
    private func commit(_ id: TableID, desired: TableState?) throws(DataplaneError) {
        var lengthsBefore: [ChainName: Int] = [:]
        let outcome: TransactionOutcome
        do {
            outcome = try iptables.transact(id, foreignChainEntries: false) { snapshot in
                lengthsBefore = snapshot.chainLengths
                let wanted = keepsPolicyAsFound ? TableState.keepingPolicy(desired, of: snapshot.observed, id: id) : desired
                return TableDiff.plan(desired: wanted, observed: snapshot.observed)?.operations ?? []
            }
        } catch {
            // Iptables.transact throws `any Error` (its own, or the closure's): an error of
            // another type is carried as it is and the run undone, not taken for a crash.
            throw DataplaneError(error)
        }
        guard outcome.committed else { return }
        if let reason = outcome.countersNotCarried {
            warnings.append("\(id): the new table is in place, but the kernel did not take its rules' packet "
                            + "counters (\(reason)): they start again from 0")
        }
        let applied = outcome.operations, lengths = lengthsBefore, observer = self.observer
        var iptables = self.iptables
        record("restore table \(id)") {
            // Sets destroyed and made again by later undo steps may hold other indexes now.
            iptables.sets = try observer.observeIPSetIndexes(wanted: false)
            try iptables.transact(id, foreignChainEntries: false) { _ in
                TableOperation.inverse(of: applied, chainLengths: lengths)
            }
        }
        done.tables.append(TablePlan(id: id, operations: applied))
    }

    /// Deletes the conntrack entries of the UDP host ports in the nat tables now in
    /// place that were not DNATed to the mapping's pod (see `HostPortFlows`), so that
    /// their next packets meet the DNAT: the flows to the host port on the mapping's
    /// host IP, or on every local address of the node; the node's own flows to that
    /// port on other hosts never meet the DNAT and stay. At every run, for each family
    /// with UDP host ports: a dump per port, or one for more than a few (`Conntrack`). Nothing to undo: the kernel recreates flows.
    ///
    /// A failure here (the kernel refusing a delete, a lost acknowledgement, no
    /// nf_conntrack_netlink) is a warning, not a failed apply: tables, routes and pods
    /// are right, the flows only keep bypassing the DNAT until they time out, and the
    /// next apply, which sweeps again, clears them.
    private func clearStaleFlowsOfUDPHostPorts(desired: DesiredState, bridgeName: String?, tables: [TableID]) {
        for id in tables where id.table == .nat {
            guard let nat = desired.table(id) else { continue }
            let ports = HostPortFlows.udpHostPorts(nat)
            guard !ports.isEmpty else { continue }
            // The bridge's addresses, one per pod CIDR: a former mapping's pod is in one.
            let podCIDRs = desired.addresses.filter { $0.interface == bridgeName && $0.family == id.family }
                .map { IPNetwork(network: $0.address, prefixLength: $0.prefixLength) }
            do throws(DataplaneError) {
                let conntrack: Conntrack, local: [IPNetwork]
                do {
                    conntrack = try Conntrack(namespace: namespace)
                    local = try netlink.localNetworks(family: id.family)
                } catch {
                    throw .netlink(error, while: "opening a conntrack socket and reading the node's local addresses")
                }
                let selections = ports.compactMap { $0.staleFlows(local: local, podCIDRs: podCIDRs) }
                do {
                    _ = try conntrack.deleteFlows(family: id.family, transport: .udp, selections)
                } catch {
                    throw .netlinkOperation(error)
                }
            } catch {
                let names = Set(ports.map(\.port)).sorted().map(String.init).joined(separator: ", ")
                warnings.append("\(id.family) UDP host ports \(names): their old conntrack flows, which bypass the DNAT, "
                                + "were not cleared (\(error)); the next apply tries again")
            }
        }
    }

    /// One batch per kind of change; the kernel applies a batch message by message.
    /// Each route stands alone (see `Plan`): one the kernel refuses is left out and
    /// named in the executed plan's `refusedRoutes`, and the others stay, so that one
    /// unreachable peer does not cut this node off from every other. What was applied
    /// is journaled, and undone if a step of the node's own state fails later.
    private func routes(_ operations: [RouteOperation]) throws(DataplaneError) {
        func refuse(_ failures: [RouteFailure]) {
            guard !failures.isEmpty else { return }
            var planned: [RouteKey: RouteOperation] = [:]
            for operation in operations { planned[operation.route.key] = operation }
            done.refusedRoutes += failures.map { failure in
                RefusedRoute(operation: planned[failure.route.key] ?? .add(failure.route), reason: failure.reason)
            }
        }
        var adds: [RouteState] = [], replaces: [RouteKey: RouteState] = [:], deletes: [RouteState] = []
        for operation in operations {
            // A route that was to use a nexthop the kernel refused stays as it is, with it.
            if let id = operation.route.nexthopID, refusedNexthopIDs.contains(id) {
                done.refusedRoutes.append(RefusedRoute(operation: operation, reason: .nexthopRefused(id: id)))
                continue
            }
            switch operation {
            case .add(let route): adds.append(route)
            case .replace(let old, let new):
                adds.append(new)
                replaces[new.key] = old
            case .delete(let route): deletes.append(route)
            }
        }
        let netlink = self.netlink
        if !adds.isEmpty {
            let result: RouteBatchResult
            do {
                result = try netlink.replaceRoutes(adds)
            } catch {
                throw .netlink(error, while: "writing routes")
            }
            // One undo step per batch: the routes it added go, the ones it replaced come back.
            var added: [RouteState] = [], previous: [RouteState] = []
            for route in result.applied {
                if !replaces.isEmpty, let old = replaces[route.key] {
                    previous.append(old)
                    done.routes.append(.replace(old: old, new: route))
                } else {
                    added.append(route)
                    done.routes.append(.add(route))
                }
            }
            if !added.isEmpty {
                record("delete the \(added.count) routes this run added") { try Self.settled(netlink.deleteRoutes(added)) }
            }
            if !previous.isEmpty {
                record("put back the \(previous.count) routes this run replaced") {
                    try Self.settled(netlink.replaceRoutes(previous))
                }
            }
            // A foreign route that appeared since the observation is still not podnet's to overwrite.
            if !result.conflicts.isEmpty { throw .conflicts(result.conflicts.map(Conflict.route)) }
            refuse(result.failed)
        }
        if !deletes.isEmpty {
            let result: RouteBatchResult
            do {
                result = try netlink.deleteRoutes(deletes)
            } catch {
                throw .netlink(error, while: "deleting routes")
            }
            let removed = result.applied
            done.routes += removed.map { .delete($0) }
            if !removed.isEmpty {
                record("add back the \(removed.count) routes this run deleted") { try Self.settled(netlink.addRoutes(removed)) }
            }
            refuse(result.failed)
        }
    }

    /// One batch of nexthop writes. Each peer's nexthop stands alone, as its routes do: a
    /// refused one is named in `refusedNexthops` (and a refused new one takes the routes
    /// that were to use it along), the others stay. What was applied is journaled.
    private func nexthops(_ operations: [NexthopOperation]) throws(DataplaneError) {
        guard !operations.isEmpty else { return }
        let netlink = self.netlink
        let result: NexthopBatchResult
        do {
            result = try netlink.writeNexthops(operations)
        } catch {
            throw .netlink(error, while: "writing nexthops")
        }
        done.nexthops += result.applied
        done.refusedNexthops += result.failed
        for refused in result.failed {
            if case .add(let nexthop) = refused.operation { refusedNexthopIDs.insert(nexthop.id) }
        }
        let inverse = result.applied.map { operation -> NexthopOperation in
            switch operation {
            case .add(let nexthop): return .delete(nexthop)
            case .replace(let old, let new): return .replace(old: new, new: old)
            case .delete(let nexthop): return .add(nexthop)
            }
        }
        if !inverse.isEmpty {
            record("undo the \(inverse.count) nexthop writes of this run") {
                let undone = try netlink.writeNexthops(inverse)
                if !undone.failed.isEmpty { throw DataplaneError.nexthops(undone.failed) }
            }
        }
    }

    // MARK: Undo

    /// An undo's route batch must go through whole; a refusal is an undo failure.
    private static func settled(_ result: RouteBatchResult) throws {
        if !result.conflicts.isEmpty { throw DataplaneError.conflicts(result.conflicts.map(Conflict.route)) }
        if !result.failed.isEmpty { throw DataplaneError.routes(result.failed) }
    }

    /// A step that failed after making a link it then could not delete: the rollback
    /// tries once more, and reports the link if it is still there.
    private func recordLeftBehind(_ error: NetlinkOperationError) {
        guard case .leftBehind(_, let link, _) = error else { return }
        let netlink = self.netlink
        record("delete the half-made link \(link.name) (index \(link.index))") { try netlink.deleteLeftBehind(link) }
    }

    /// The description is only built if the step is ever undone and fails.
    private func record(_ description: @autoclosure @escaping () -> String, _ undo: @escaping () throws -> Void) {
        journal.append((description, undo))
    }

    private func rollBack(after cause: DataplaneError) -> ApplyFailure {
        var failures: [String] = []
        for step in journal.reversed() {
            do {
                try step.undo()
            } catch {
                failures.append("\(step.description()) failed: \(error)")
            }
        }
        journal.removeAll()
        return ApplyFailure(cause: cause, rolledBack: done, rollbackFailures: failures)
    }

    /// The undo of detaching a pod that was being remade: the spec it had been made
    /// from is no longer known, so only the next apply can attach it again.
    private struct PreviousAttachmentGone: Error, CustomStringConvertible {
        let pod: String
        var description: String { "pod \(pod)'s previous attachment cannot be restored; apply again to attach it" }
    }

    private func required(_ name: String) throws(NetlinkOperationError) -> Link {
        let found: Link?
        do {
            found = try netlink.link(named: name)
        } catch {
            throw .failed(command: "ip link show dev \(name)", namespace: namespace, error)
        }
        guard let found else { throw .linkMissing(name: name, namespace: namespace) }
        return found
    }
}
