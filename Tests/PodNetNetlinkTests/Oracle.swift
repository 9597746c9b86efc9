import Foundation
import PodNet
import PodNetTestSupport

/// `ip -n NS -j ARGS...` parsed: the oracle every kernel test compares against.
func ipJSON(_ namespace: TestNamespace, _ arguments: [String]) throws -> [[String: Any]] {
    let text = try runCommand(["ip", "-n", namespace.name, "-j"] + arguments)
    guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
    let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return parsed as? [[String: Any]] ?? []
}

/// Two veth ends inside `namespace`: `host` carries 192.168.1.1/24 and fd00::1/64
/// (nodad), so 192.168.1.2 and fd00::2 are on-link gateways; 10.99.0.0/24 is
/// not reachable, so a gateway there is refused by the kernel.
func makeUplink(in namespace: TestNamespace, host: String = "up0", peer: String = "up1") throws {
    try runCommand(["ip", "-n", namespace.name, "link", "add", host, "type", "veth", "peer", "name", peer])
    try runCommand(["ip", "-n", namespace.name, "addr", "add", "192.168.1.1/24", "dev", host])
    try runCommand(["ip", "-n", namespace.name, "addr", "add", "fd00::1/64", "dev", host, "nodad"])
    try runCommand(["ip", "-n", namespace.name, "link", "set", host, "up"])
    try runCommand(["ip", "-n", namespace.name, "link", "set", peer, "up"])
}

/// The routes `ip -j route show` prints, as comparable text "DST via GW".
func ipRoutes(_ namespace: TestNamespace, family: IPFamily, _ filter: [String]) throws -> Set<String> {
    let flag = family == .ipv4 ? "-4" : "-6"
    let rows = try ipJSON(namespace, [flag, "route", "show"] + filter)
    return Set(rows.map { row in
        let destination = row["dst"] as? String ?? "?"
        // `ip` prints host routes without their /32 or /128.
        let full = destination.contains("/") || destination == "default"
            ? destination : destination + "/\(family.bitWidth)"
        let nexthop = (row["nhid"] as? Int).map { " nhid \($0)" } ?? ""
        return "\(full)\(nexthop) via \(row["gateway"] as? String ?? "-")"
    })
}

extension RouteState {
    /// As `ipRoutes` shows it: a route through a nexthop object shows the nexthop's
    /// gateway too, so only classic routes have this text.
    var text: String { "\(destination) via \(gateway?.description ?? "-")" }
}
