import PodNet
import PodNetTestSupport

/// The iptables-legacy binaries as oracles, run inside a test namespace.
extension TestNamespace {
    func save(_ id: TableID) throws -> String {
        try run([id.family == .ipv4 ? "iptables-legacy-save" : "ip6tables-legacy-save", "-t", id.table.rawValue])
    }

    /// `-A CHAIN ...` lines of one chain, as iptables-legacy-save prints them.
    func savedRules(_ id: TableID, chain: ChainName) throws -> [String] {
        try save(id).split(separator: "\n").map(String.init).filter { $0 == "-A \(chain)" || $0.hasPrefix("-A \(chain) ") }
    }

    func restore(_ family: IPFamily, _ text: String) throws {
        try run([family == .ipv4 ? "iptables-legacy-restore" : "ip6tables-legacy-restore"], stdin: text)
    }

    func iptables(_ family: IPFamily, _ arguments: [String]) throws {
        try run([family == .ipv4 ? "iptables-legacy" : "ip6tables-legacy"] + arguments)
    }

    /// The save output without what changes by itself: comment lines (timestamps) and
    /// the `[packets:bytes]` counters of the chain lines.
    func stableSave(_ id: TableID) throws -> [String] {
        try save(id).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }.map { line in
            guard line.hasPrefix(":"), let bracket = line.lastIndex(of: "[") else { return line }
            return String(line[..<bracket])
        }
    }
}
