/// The dry run: a plan rendered for a person, `+`/`-`/`~` lines per section in
/// iptables-save and `ip` syntax, then a one-line summary.
public enum PlanText {
    public struct Style: Sendable {
        public var colour: Bool
        public init(colour: Bool) { self.colour = colour }
    }

    public static func render(_ plan: Plan, bridge: BridgeState?, style: Style = Style(colour: false)) -> String {
        var out: [String] = []
        func section(_ title: String, _ lines: [(Mark, String)]) {
            guard !lines.isEmpty else { return }
            out.append("# \(title)")
            out += lines.map { style.paint($0.0, $0.0.rawValue + " " + $0.1) }
        }
        for table in plan.tables {
            section("\(table.id.family.rawValue) \(table.id.table.rawValue)", table.operations.flatMap(tableLines))
        }
        section("links", plan.links.flatMap(linkLines))
        section("addresses", plan.addresses.map { operation in
            switch operation {
            case .add(let address): return (.add, IpCommandText.address("add", address))
            case .delete(let address): return (.remove, IpCommandText.address("del", address))
            }
        })
        section("sysctls", plan.sysctls.map { operation in
            let was = operation.from.map { "   # was \($0)" } ?? "   # was unset"
            return (.change, IpCommandText.sysctl(operation.key, operation.to) + was)
        })
        section("routes", plan.routes.flatMap { operation -> [(Mark, String)] in
            switch operation {
            case .add(let route): return [(.add, IpCommandText.route("add", route))]
            case .replace(let old, let new):
                return [(.remove, IpCommandText.route("del", old)), (.add, IpCommandText.route("replace", new))]
            case .delete(let route): return [(.remove, IpCommandText.route("del", route))]
            }
        })
        section("pods", plan.pods.flatMap { operation -> [(Mark, String)] in
            switch operation {
            case .attach(let pod, let mtu):
                return IpCommandText.attachPod(pod, bridge: bridge, mtu: String(mtu)).map { (.add, $0) }
            case .detach(let pod):
                return [(.remove, "ip link del \(pod.hostInterface)   # pod \(pod.name)")]
            }
        })
        if !plan.conflicts.isEmpty {
            out.append("# conflicts (podnet will not touch these)")
            out += plan.conflicts.map { style.paint(.conflict, "! \($0)") }
        }
        out.append(summary(plan))
        return out.joined(separator: "\n") + "\n"
    }

    public static func summary(_ plan: Plan) -> String {
        if plan.isEmpty && plan.conflicts.isEmpty { return "No changes: the node matches the config." }
        var parts: [String] = []
        let ruleOps = plan.tables.reduce(0) { $0 + $1.operations.count }
        if ruleOps > 0 { parts.append("\(ruleOps) iptables operation\(ruleOps == 1 ? "" : "s") in \(plan.tables.count) table\(plan.tables.count == 1 ? "" : "s")") }
        if !plan.links.isEmpty { parts.append("\(plan.links.count) link change\(plan.links.count == 1 ? "" : "s")") }
        if !plan.addresses.isEmpty { parts.append("\(plan.addresses.count) address change\(plan.addresses.count == 1 ? "" : "s")") }
        if !plan.sysctls.isEmpty { parts.append("\(plan.sysctls.count) sysctl\(plan.sysctls.count == 1 ? "" : "s")") }
        if !plan.routes.isEmpty { parts.append("\(plan.routes.count) route change\(plan.routes.count == 1 ? "" : "s")") }
        if !plan.pods.isEmpty { parts.append("\(plan.pods.count) pod change\(plan.pods.count == 1 ? "" : "s")") }
        if !plan.conflicts.isEmpty { parts.append("\(plan.conflicts.count) conflict\(plan.conflicts.count == 1 ? "" : "s")") }
        return "Plan: " + parts.joined(separator: ", ") + "."
    }

    enum Mark: String {
        case add = "+"
        case remove = "-"
        case change = "~"
        case conflict = "!"
    }

    static func tableLines(_ operation: TableOperation) -> [(Mark, String)] {
        switch operation {
        case .createChain(let chain):
            return [(.add, ":" + chain.rawValue + " - [0:0]")]
        case .flushChain(let chain, let rules):
            return rules.map { (.remove, IptablesSaveText.appendLine($0, chain: chain)) }
        case .deleteChain(let chain):
            return [(.remove, ":" + chain.rawValue + " - [0:0]")]
        case .insertRule(let chain, let index, let rule):
            return [(.add, chain.isBuiltin ? "-I \(chain) \(index + 1) \(IptablesSaveText.render(rule))"
                                            : IptablesSaveText.appendLine(rule, chain: chain))]
        case .appendRule(let chain, let rule):
            return [(.add, IptablesSaveText.appendLine(rule, chain: chain))]
        case .replaceRule(let chain, _, let old, let new):
            return [(.remove, IptablesSaveText.appendLine(old, chain: chain)),
                    (.add, IptablesSaveText.appendLine(new, chain: chain))]
        case .deleteRule(let chain, _, let rule):
            return [(.remove, IptablesSaveText.appendLine(rule, chain: chain))]
        }
    }

    static func linkLines(_ operation: LinkOperation) -> [(Mark, String)] {
        switch operation {
        case .createBridge(let bridge, let mtu):
            return IpCommandText.createBridge(bridge, mtu: String(mtu)).map { (.add, $0) }
        case .setMTU(let link, let from, let to):
            return [(.change, "ip link set \(link) mtu \(to)   # was \(from)")]
        case .setMACAddress(let link, let from, let to):
            return [(.change, "ip link set \(link) address \(to)   # was \(from)")]
        case .setPromiscuous(let link, let on):
            return [(.change, "ip link set \(link) promisc \(on ? "on" : "off")")]
        case .setUp(let link):
            return [(.change, "ip link set \(link) up")]
        case .setHairpin(let port, let on):
            return [(.change, IpCommandText.hairpin(port: port, on))]
        case .deleteBridge(let name):
            return [(.remove, "ip link del \(name)")]
        }
    }
}

extension PlanText.Style {
    fileprivate func paint(_ mark: PlanText.Mark, _ text: String) -> String {
        guard colour else { return text }
        let code: String
        switch mark {
        case .add: code = "32"
        case .remove: code = "31"
        case .change: code = "33"
        case .conflict: code = "1;31"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
