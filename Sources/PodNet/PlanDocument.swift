/// The machine-readable form of a plan (`--output json`), schema version 1.
///
/// Every operation carries `op` and the exact command text the dry run shows
/// (`text`), plus the fields a script needs to act on it without parsing text.
public struct PlanDocument: Encodable, Sendable {
    public static let schemaVersion = 1

    public struct Operation: Encodable, Sendable {
        public var op: String
        public var text: [String]
        public var family: String?
        public var table: String?
        public var chain: String?
        public var index: Int?
        public var rule: String?
        public var oldRule: String?
        public var destination: String?
        public var gateway: String?
        public var oldGateway: String?
        /// A route's nexthop object (`nhid`), or a nexthop operation's own id.
        public var nexthop: UInt32?
        public var oldNexthop: UInt32?
        /// A replaced nexthop's previous link (`interface` is the new one).
        public var oldInterface: String?
        public var routeTable: UInt32?
        public var routeProtocol: UInt8?
        public var interface: String?
        public var address: String?
        public var key: String?
        public var from: String?
        public var to: String?
        public var pod: String?
        /// A refused route's: the kernel's reason and errno.
        public var reason: String?
        public var errno: Int32?
        /// An ipset operation's set, member, type, and (swap) the set it trades places with.
        public var set: String?
        public var member: String?
        public var setType: String?
        public var swapWith: String?

        init(op: String, text: [String]) {
            self.op = op
            self.text = text
        }
    }

    public var schema = PlanDocument.schemaVersion
    /// "changes" when there is something to do, "none" when the node matches.
    public var status: String
    public var summary: String
    public var iptables: [Operation]
    public var links: [Operation]
    public var addresses: [Operation]
    public var sysctls: [Operation]
    public var routes: [Operation]
    public var nexthops: [Operation]
    public var pods: [Operation]
    public var ipsets: [Operation]
    public var conflicts: [String]
    /// An apply's route operations that the kernel refused, each as in `routes` with
    /// `reason` (and `errno` when the kernel gave one); everything else was applied.
    public var refusedRoutes: [Operation]
    /// Likewise for nexthop operations; the routes that were to use a refused new
    /// nexthop are in `refusedRoutes`.
    public var refusedNexthops: [Operation]

    public init(_ plan: Plan, bridge: BridgeState?) {
        status = plan.isEmpty && !plan.hasRefusals ? "none" : "changes"
        summary = PlanText.summary(plan)
        conflicts = plan.conflicts.map(\.description)
        iptables = plan.tables.flatMap { table in
            table.operations.map { operation in
                var item = Operation(op: operation.kind, text: PlanText.tableLines(operation).map(\.1))
                item.family = table.id.family.rawValue
                item.table = table.id.table.rawValue
                item.chain = operation.chain.rawValue
                switch operation {
                case .insertRule(_, let index, let rule), .deleteRule(_, let index, let rule):
                    item.index = index
                    item.rule = IptablesSaveText.render(rule)
                case .appendRule(_, let rule):
                    item.rule = IptablesSaveText.render(rule)
                case .replaceRule(_, let index, let old, let new):
                    item.index = index
                    item.rule = IptablesSaveText.render(new)
                    item.oldRule = IptablesSaveText.render(old)
                case .createChain, .flushChain, .deleteChain:
                    break
                }
                return item
            }
        }
        links = plan.links.map { operation in
            var item = Operation(op: operation.kind, text: PlanText.linkLines(operation).map(\.1))
            if case .deleteUnfinished(let name) = operation { item.interface = name }
            return item
        }
        addresses = plan.addresses.map { operation in
            let (op, address) = switch operation {
            case .add(let address): ("add", address)
            case .delete(let address): ("delete", address)
            }
            var item = Operation(op: op, text: [IpCommandText.address(op == "add" ? "add" : "del", address)])
            item.interface = address.interface
            item.address = "\(address.address)/\(address.prefixLength)"
            return item
        }
        sysctls = plan.sysctls.map { operation in
            var item = Operation(op: "set", text: [IpCommandText.sysctl(operation.key, operation.to)])
            item.key = operation.key.description
            item.from = operation.from
            item.to = operation.to
            return item
        }
        routes = plan.routes.map(Self.route)
        nexthops = plan.nexthops.map(Self.nexthop)
        ipsets = plan.ipsets.map(Self.ipset)
        refusedRoutes = plan.refusedRoutes.map { refused in
            Self.refusal(Self.route(refused.operation), refused.reason)
        }
        refusedNexthops = plan.refusedNexthops.map { refused in
            Self.refusal(Self.nexthop(refused.operation), refused.reason)
        }
        pods = plan.pods.map { operation in
            switch operation {
            case .attach(let pod, let mtu):
                var item = Operation(op: "attach", text: IpCommandText.attachPod(pod, bridge: bridge, mtu: String(mtu)))
                item.pod = pod.name
                item.interface = pod.hostInterface
                return item
            case .detach(let pod):
                var item = Operation(op: "detach", text: ["ip link del \(pod.hostInterface)"])
                item.pod = pod.name
                item.interface = pod.hostInterface
                return item
            }
        }
    }

    private static func ipset(_ operation: IPSetOperation) -> Operation {
        var item = Operation(op: operation.kind, text: [operation.commandText])
        switch operation {
        case .create(let set):
            item.set = set.name
            item.setType = set.type.rawValue
            item.family = set.family.rawValue
        case .add(let set, let entry), .delete(let set, let entry):
            item.set = set
            item.member = entry.description
        case .swap(let first, let second):
            item.set = first
            item.swapWith = second
        case .destroy(let set):
            item.set = set.name
        }
        return item
    }

    private static func refusal(_ operation: Operation, _ reason: RouteFailure.Reason) -> Operation {
        var item = operation
        item.reason = reason.description
        if case .kernel(let reason) = reason { item.errno = reason.errno }
        return item
    }

    private static func route(_ operation: RouteOperation) -> Operation {
        func fields(_ op: String, _ route: RouteState, _ verb: String) -> Operation {
            var item = Operation(op: op, text: [IpCommandText.route(verb, route)])
            item.family = route.family.rawValue
            item.destination = route.destination.description
            item.gateway = route.gateway?.description
            item.nexthop = route.nexthopID
            item.routeTable = route.table
            item.routeProtocol = route.proto
            return item
        }
        switch operation {
        case .add(let route): return fields("add", route, "add")
        case .delete(let route): return fields("delete", route, "del")
        case .replace(let old, let new):
            var item = fields("replace", new, "replace")
            item.oldGateway = old.gateway?.description
            item.oldNexthop = old.nexthopID
            return item
        }
    }

    private static func nexthop(_ operation: NexthopOperation) -> Operation {
        let op = switch operation {
        case .add: "add"
        case .replace: "replace"
        case .delete: "delete"
        }
        let nexthop = operation.nexthop
        var item = Operation(op: op, text: [operation.commandText])
        item.family = nexthop.family.rawValue
        item.nexthop = nexthop.id
        item.gateway = nexthop.gateway.description
        item.interface = nexthop.link.name
        item.routeProtocol = nexthop.proto
        if case .replace(let old, _) = operation {
            item.oldGateway = old.gateway.description
            item.oldInterface = old.link.name
        }
        return item
    }
}

extension TableOperation {
    /// The operation's name in the JSON schema.
    public var kind: String {
        switch self {
        case .createChain: return "createChain"
        case .flushChain: return "flushChain"
        case .deleteChain: return "deleteChain"
        case .insertRule: return "insertRule"
        case .appendRule: return "appendRule"
        case .replaceRule: return "replaceRule"
        case .deleteRule: return "deleteRule"
        }
    }
}

extension LinkOperation {
    public var kind: String {
        switch self {
        case .createBridge: return "createBridge"
        case .setMTU: return "setMTU"
        case .setMACAddress: return "setMACAddress"
        case .setPromiscuous: return "setPromiscuous"
        case .setUp: return "setUp"
        case .setHairpin: return "setHairpin"
        case .deleteBridge: return "deleteBridge"
        case .deleteUnfinished: return "deleteUnfinished"
        }
    }
}

extension IPSetOperation {
    public var kind: String {
        switch self {
        case .create: return "create"
        case .add: return "add"
        case .delete: return "delete"
        case .swap: return "swap"
        case .destroy: return "destroy"
        }
    }
}
