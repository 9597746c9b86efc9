/// The dry run: a plan rendered for a person, `+`/`-`/`~` lines per section in
/// iptables-save and `ip` syntax, then a one-line summary.
public enum PlanText {
    public struct Style: Sendable {
        public var colour: Bool
        public init(colour: Bool) { self.colour = colour }
    }

    public static func render(_ plan: Plan, bridge: BridgeState?, style: Style = Style(colour: false)) -> String {
        var out = Writer(style: style)
        out.text.reserveCapacity(4096 + 160 * plan.tables.reduce(0) { $0 + $1.operations.count })
        for table in plan.tables {
            out.section(table.id.family.rawValue + " " + table.id.table.rawValue) { out in
                for operation in table.operations { writeTableLines(operation, to: &out) }
            }
        }
        out.section("ipsets", plan.ipsets.map(ipsetLine))
        out.section("links", plan.links.flatMap(linkLines))
        out.section("addresses", plan.addresses.map { operation in
            switch operation {
            case .add(let address): return (.add, IpCommandText.address("add", address))
            case .delete(let address): return (.remove, IpCommandText.address("del", address))
            }
        })
        out.section("sysctls", plan.sysctls.map { operation in
            let was = operation.from.map { "   # was \($0)" } ?? "   # was unset"
            return (.change, IpCommandText.sysctl(operation.key, operation.to) + was)
        })
        out.section("nexthops", plan.nexthops.map(nexthopLine))
        out.section("routes", plan.routes.flatMap { operation -> [(Mark, String)] in
            switch operation {
            case .add(let route): return [(.add, IpCommandText.route("add", route))]
            case .replace(let old, let new):
                return [(.remove, IpCommandText.route("del", old)), (.add, IpCommandText.route("replace", new))]
            case .delete(let route): return [(.remove, IpCommandText.route("del", route))]
            }
        })
        out.section("pods", plan.pods.flatMap { operation -> [(Mark, String)] in
            switch operation {
            case .attach(let pod, let mtu):
                return IpCommandText.attachPod(pod, bridge: bridge, mtu: String(mtu)).map { (.add, $0) }
            case .detach(let pod):
                return [(.remove, "ip link del \(pod.hostInterface)   # pod \(pod.name)")]
            }
        })
        if plan.hasRefusals {
            out.section("routes the kernel refused (the rest was applied; the next apply retries them)") { out in
                for refused in plan.refusedNexthops { out.line(.conflict, refused.description) }
                for refused in plan.refusedRoutes { out.line(.conflict, refused.description) }
            }
        }
        if !plan.conflicts.isEmpty {
            out.section("conflicts (podnet will not touch these)") { out in
                for conflict in plan.conflicts { out.line(.conflict, conflict.description) }
            }
        }
        out.text.appendUTF8(summary(plan))
        out.text.append(UInt8(ascii: "\n"))
        return String(decoding: out.text, as: UTF8.self)
    }

    /// The plan's text, one buffer for every line: plans of thousands of rules are
    /// printed by every apply.
    struct Writer {
        let style: Style
        var text: [UInt8] = []
        /// Each line's mark and where its content lies in `text`, when asked for (the
        /// JSON plan takes the lines one by one).
        var lines: [(mark: Mark, content: Range<Int>)]?

        /// `# title` and the lines `body` writes; nothing at all when it writes none.
        mutating func section(_ title: String, _ body: (inout Writer) -> Void) {
            let start = text.count
            text.append(UInt8(ascii: "#"))
            text.append(UInt8(ascii: " "))
            text.appendUTF8(title)
            text.append(UInt8(ascii: "\n"))
            let linesStart = text.count
            body(&self)
            if text.count == linesStart { text.removeSubrange(start...) }
        }

        mutating func section(_ title: String, _ lines: [(Mark, String)]) {
            section(title) { out in
                for (mark, line) in lines { out.line(mark, line) }
            }
        }

        mutating func line(_ mark: Mark, _ content: String) {
            line(mark) { $0.appendUTF8(content) }
        }

        /// `MARK content`, painted when the style has colour, and a newline.
        mutating func line(_ mark: Mark, _ content: (inout [UInt8]) -> Void) {
            if style.colour {
                text.appendUTF8("\u{1B}[" + mark.colourCode + "m")
            }
            text.appendUTF8(mark.rawValue)
            text.append(UInt8(ascii: " "))
            let start = text.count
            content(&text)
            lines?.append((mark, start..<text.count))
            if style.colour { text.appendUTF8("\u{1B}[0m") }
            text.append(UInt8(ascii: "\n"))
        }
    }

    public static func summary(_ plan: Plan) -> String {
        if plan.isEmpty && plan.conflicts.isEmpty && !plan.hasRefusals {
            return "No changes: the node matches the config."
        }
        var parts: [String] = []
        let ruleOps = plan.tables.reduce(0) { $0 + $1.operations.count }
        if ruleOps > 0 { parts.append("\(ruleOps) iptables operation\(ruleOps == 1 ? "" : "s") in \(plan.tables.count) table\(plan.tables.count == 1 ? "" : "s")") }
        if !plan.links.isEmpty { parts.append("\(plan.links.count) link change\(plan.links.count == 1 ? "" : "s")") }
        if !plan.addresses.isEmpty { parts.append("\(plan.addresses.count) address change\(plan.addresses.count == 1 ? "" : "s")") }
        if !plan.sysctls.isEmpty { parts.append("\(plan.sysctls.count) sysctl\(plan.sysctls.count == 1 ? "" : "s")") }
        if !plan.nexthops.isEmpty { parts.append("\(plan.nexthops.count) nexthop change\(plan.nexthops.count == 1 ? "" : "s")") }
        if !plan.routes.isEmpty { parts.append("\(plan.routes.count) route change\(plan.routes.count == 1 ? "" : "s")") }
        if !plan.pods.isEmpty { parts.append("\(plan.pods.count) pod change\(plan.pods.count == 1 ? "" : "s")") }
        if !plan.ipsets.isEmpty { parts.append("\(plan.ipsets.count) ipset change\(plan.ipsets.count == 1 ? "" : "s")") }
        if !plan.refusedNexthops.isEmpty {
            parts.append("\(plan.refusedNexthops.count) nexthop\(plan.refusedNexthops.count == 1 ? "" : "s") refused")
        }
        if !plan.refusedRoutes.isEmpty {
            parts.append("\(plan.refusedRoutes.count) route\(plan.refusedRoutes.count == 1 ? "" : "s") refused")
        }
        if !plan.conflicts.isEmpty { parts.append("\(plan.conflicts.count) conflict\(plan.conflicts.count == 1 ? "" : "s")") }
        return "Plan: " + parts.joined(separator: ", ") + "."
    }

    enum Mark: String {
        case add = "+"
        case remove = "-"
        case change = "~"
        case conflict = "!"
    }

    /// The operation's lines as separate strings (the JSON plan's `text`).
    static func tableLines(_ operation: TableOperation) -> [(Mark, String)] {
        var out = Writer(style: Style(colour: false), lines: [])
        writeTableLines(operation, to: &out)
        return (out.lines ?? []).map { ($0.mark, String(decoding: out.text[$0.content], as: UTF8.self)) }
    }

    static func writeTableLines(_ operation: TableOperation, to out: inout Writer) {
        func chainLine(_ mark: Mark, _ chain: ChainName) {
            out.line(mark) { text in
                text.append(UInt8(ascii: ":"))
                text.appendUTF8(chain.rawValue)
                text.appendUTF8(" - [0:0]")
            }
        }
        func ruleLine(_ mark: Mark, _ rule: Rule, _ chain: ChainName) {
            out.line(mark) { IptablesSaveText.appendLine(rule, chain: chain, to: &$0) }
        }
        switch operation {
        case .createChain(let chain):
            chainLine(.add, chain)
        case .flushChain(let chain, let rules):
            for rule in rules { ruleLine(.remove, rule, chain) }
        case .deleteChain(let chain):
            chainLine(.remove, chain)
        case .insertRule(let chain, let index, let rule):
            guard chain.isBuiltin else { return ruleLine(.add, rule, chain) }
            out.line(.add) { text in
                text.appendUTF8("-I ")
                text.appendUTF8(chain.rawValue)
                text.append(UInt8(ascii: " "))
                text.appendDecimal(index + 1)
                text.append(UInt8(ascii: " "))
                IptablesSaveText.render(rule, to: &text)
            }
        case .appendRule(let chain, let rule):
            ruleLine(.add, rule, chain)
        case .replaceRule(let chain, _, let old, let new):
            ruleLine(.remove, old, chain)
            ruleLine(.add, new, chain)
        case .deleteRule(let chain, _, let rule):
            ruleLine(.remove, rule, chain)
        }
    }

    static func ipsetLine(_ operation: IPSetOperation) -> (Mark, String) {
        switch operation {
        case .create, .add: return (.add, operation.commandText)
        case .delete, .destroy: return (.remove, operation.commandText)
        case .swap: return (.change, operation.commandText)
        }
    }

    /// A replaced nexthop is changed in place (its id stays, its routes follow it).
    static func nexthopLine(_ operation: NexthopOperation) -> (Mark, String) {
        switch operation {
        case .add: return (.add, operation.commandText)
        case .replace(let old, _):
            return (.change, operation.commandText + "   # was via \(old.gateway) dev \(old.link.name)")
        case .delete: return (.remove, operation.commandText)
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
        case .deleteUnfinished(let name):
            return [(.remove, "ip link del \(name)   # left half-made by an interrupted podnet run")]
        }
    }
}

extension PlanText.Mark {
    /// The ANSI colour of the mark's lines.
    fileprivate var colourCode: String {
        switch self {
        case .add: return "32"
        case .remove: return "31"
        case .change: return "33"
        case .conflict: return "1;31"
        }
    }
}
