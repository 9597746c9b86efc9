import PodNet

/// Text renderings of a desired state: the whole of it for people (`podnet render`),
/// and one family's tables for iptables-legacy-restore (`--iptables ipv4|ipv6`).
public enum StateRenderer {
    /// For each family its tables in iptables-save syntax, podnet's chains and jumps
    /// only (each jump preceded by a comment saying where it goes), then the links,
    /// addresses, sysctls, routes and pods as the `ip` (and `sysctl`) commands that
    /// would make them, and podnet's ipsets (when it wants any) as `ipset` commands.
    /// Each section starts with a `# ...` line.
    public static func render(_ state: DesiredState) -> String {
        var lines: [String] = []
        let families = Set(state.tables.map(\.id.family) + state.addresses.map(\.family)).sorted()
        for family in families {
            lines.append("# \(family.rawValue) \(family == .ipv4 ? "iptables" : "ip6tables"): "
                         + "podnet's chains and jumps, in iptables-legacy-save syntax")
            let tables = state.tables.filter { $0.id.family == family }
            if tables.isEmpty { lines.append(none) }
            for table in tables {
                lines.append("*\(table.id.table.rawValue)")
                lines += declarations(table)
                for jump in orderedJumps(table) {
                    lines.append(jump.placement == .top ? "# jump at the top of \(jump.builtinChain.rawValue)"
                                                        : "# jump appended to \(jump.builtinChain.rawValue)")
                    lines.append(IptablesSaveText.appendLine(jump.rule, chain: jump.builtinChain.name))
                }
                lines += ruleLines(table)
                lines.append("COMMIT")
            }
        }
        lines += section("links", state.bridge.map(linkLines) ?? [])
        lines += section("addresses", state.addresses.map { IpCommandText.address("add", $0) })
        lines += section("sysctls", state.sysctls.map { IpCommandText.sysctl($0.key, $0.value) })
        lines += section("nexthops", state.nexthops.map { IpCommandText.nexthop("replace", $0) })
        lines += section("routes", state.routes.map { IpCommandText.route("replace", $0) })
        lines += section("pods", state.pods.flatMap { pod in
            ["# pod \(pod.name)"] + IpCommandText.attachPod(pod, bridge: state.bridge, mtu: pod.mtu.description)
        })
        // Only with sets: a node without policies renders as it always has.
        if !state.ipsets.isEmpty {
            lines += section("ipsets", state.ipsets.flatMap { set in
                [set.createCommand] + set.entries.sorted().map { "ipset add \(set.name) \($0)" }
            })
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One family's tables as `iptables-legacy-restore --noflush` (or ip6tables-) takes
    /// them for one load: podnet's chains declared (built-in chains are not, since a
    /// declaration would overwrite the administrator's policy), their rules, then the
    /// jumps (`-I BUILTIN 1` for the top, `-A` when appended). Empty when podnet needs
    /// no rules in that family.
    public static func restoreText(_ state: DesiredState, family: IPFamily) -> String {
        var lines: [String] = []
        for table in state.tables where table.id.family == family {
            lines.append("*\(table.id.table.rawValue)")
            lines += declarations(table)
            lines += ruleLines(table)
            for jump in orderedJumps(table) {
                let rule = IptablesSaveText.render(jump.rule)
                switch jump.placement {
                case .top: lines.append("-I \(jump.builtinChain.rawValue) 1 \(rule)")
                case .appended: lines.append("-A \(jump.builtinChain.rawValue) \(rule)")
                }
            }
            lines.append("COMMIT")
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    /// The lines iptables-legacy-save prints for podnet's part of a table loaded on its
    /// own, in its order: user chain declarations, then rules chain by chain, built-in
    /// chains first. Kernel tests compare the kernel's output with these.
    static func saveLines(_ table: TableState) -> [String] {
        declarations(table)
            + orderedJumps(table).map { IptablesSaveText.appendLine($0.rule, chain: $0.builtinChain.name) }
            + ruleLines(table)
    }

    private static let none = "# (none)"

    private static func section(_ title: String, _ body: [String]) -> [String] {
        ["# \(title)"] + (body.isEmpty ? [none] : body)
    }

    private static func declarations(_ table: TableState) -> [String] {
        table.chains.map { ":\($0.name) - [0:0]" }
    }

    private static func ruleLines(_ table: TableState) -> [String] {
        table.chains.flatMap { chain in chain.rules.map { IptablesSaveText.appendLine($0, chain: chain.name) } }
    }

    /// In the order iptables-save lists built-in chains.
    private static func orderedJumps(_ table: TableState) -> [JumpRule] {
        let order = table.id.table.builtinChains
        return table.jumps.sorted { order.firstIndex(of: $0.builtinChain)! < order.firstIndex(of: $1.builtinChain)! }
    }

    private static func linkLines(_ bridge: BridgeState) -> [String] {
        IpCommandText.createBridge(bridge, mtu: bridge.mtu.description)
            + ["# hairpin: \(onOff(bridge.hairpinPorts)) for every port of \(bridge.name)"]
    }

    private static func onOff(_ value: Bool) -> String { value ? "on" : "off" }
}
