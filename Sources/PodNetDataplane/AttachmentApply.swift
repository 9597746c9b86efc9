import PodNet
import PodNetIptables
import PodNetNetlink

/// How much of the node one runtime request (CNI ADD or DEL) may change.
public struct AttachmentScope: Sendable, Hashable {
    /// The pods' host ends: of the pods, only these are attached or detached.
    public var hostInterfaces: Set<String>
    /// Whether podnet's tables are read and written: only when the tables the request
    /// wants differ from those last written (a host port comes or goes, the node is new).
    /// A pod without host ports then reads no table at all, beside kube-proxy's 50,000
    /// nat rules.
    public var tables: Bool

    public init(hostInterfaces: Set<String>, tables: Bool) {
        self.hostInterfaces = hostInterfaces
        self.tables = tables
    }
}

extension NodeDataplane {
    /// Brings the node to `desired` as far as one attachment needs: the node-level state
    /// when it is missing or differs (bridge, addresses, sysctls, and with `scope.tables`
    /// the tables), and the pods of `scope`. Other pods and peers' routes are left as
    /// they are: repairing them is `podnet apply`'s. The same plan, executor, order and
    /// rollback as apply: a failure undoes the whole run, so a failed ADD leaves nothing.
    public func apply(_ desired: DesiredState, ownership: Ownership, scope: AttachmentScope) throws -> ApplyResult {
        try PodnetLock.forNamespace(namespace, wait: lockWait).withLock {
            var withoutTables = desired
            withoutTables.tables = []
            let observed = try observer.observe(withoutTables, bridgeName: ownership.bridgeName,
                                                routeProtocol: ownership.routeProtocol,
                                                routeTable: ownership.routeTable, includingTables: false)
            var plan = NodeDiff.plan(desired: withoutTables, observed: observed)
            plan.routes = []
            plan.conflicts = plan.conflicts.filter { if case .route = $0 { return false }; return true }
            plan.pods = plan.pods.filter { scope.hostInterfaces.contains($0.hostInterface) }
            let tables = scope.tables ? Set(NodeObserver.tables + desired.tables.map(\.id)).sorted() : []
            let executor = try PlanExecutor(namespace: namespace, iptables: iptables)
            return try executor.execute(plan, desired: desired, bridgeName: ownership.bridgeName,
                                        routeProtocol: ownership.routeProtocol, tables: tables)
        }
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
