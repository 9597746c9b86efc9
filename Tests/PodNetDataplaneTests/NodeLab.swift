import Foundation
import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetDataplane
import PodNetIptables
import PodNetTestSupport

/// A node in a throwaway namespace, with an underlay veth to a second namespace so
/// that peers' node IPs (198.18.0.0/24, 2001:db8::/64) are on-link gateways.
final class NodeLab: Sendable {
    let node: TestNamespace
    let upstream: TestNamespace
    /// Namespaces for the test's pods, deleted with the lab.
    let pods: [TestNamespace]
    let lockDirectory: String
    let xtablesLock: String

    init(pods podCount: Int = 0) throws {
        node = try TestNamespace(prefix: "pnnode")
        upstream = try TestNamespace(prefix: "pnup")
        pods = try (0..<podCount).map { _ in try TestNamespace(prefix: "pnpod") }
        lockDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-locks-\(node.name)").path
        xtablesLock = lockDirectory + "/xtables.lock"
        try FileManager.default.createDirectory(atPath: lockDirectory, withIntermediateDirectories: true)
        try Underlay.connect(node, to: upstream)
    }

    func delete() {
        pods.forEach { $0.delete() }
        node.delete()
        upstream.delete()
        try? FileManager.default.removeItem(atPath: lockDirectory)
    }

    var dataplane: NodeDataplane {
        NodeDataplane(namespace: node.namespace,
                      iptables: Iptables(namespace: node.namespace, lock: XtablesLock(path: xtablesLock, wait: .seconds(10))),
                      lockWait: .seconds(30))
    }

    /// The test's own lock files, for every podnet run on this node.
    var environment: [String: String] { ["PODNET_LOCK_DIR": lockDirectory, "XTABLES_LOCKFILE": xtablesLock] }

    /// The podnet CLI pointed at this node, with the test's own lock files.
    func podnet(_ arguments: [String]) throws -> PodNetBinary.Result {
        try PodNetBinary.run(arguments + ["--netns", node.name], environment: environment)
    }

    /// The podnet CLI under strace: what it did, and its kernel writes in order.
    func kernelWrites(_ arguments: [String]) throws -> (result: ProcessResult, writes: [KernelWrite]) {
        try Strace.kernelWrites(of: [PodNetBinary.path] + arguments + ["--netns", node.name], environment: environment)
    }

    /// The podnet CLI with `fault` injected at `write`, one of the kernel writes the same
    /// command made in a run from the same state (`kernelWrites`).
    func podnet(_ arguments: [String], fault: KernelFault, at write: KernelWrite, following: Int = 0) throws
        -> ProcessResult {
        try Strace.run([PodNetBinary.path] + arguments + ["--netns", node.name], environment: environment,
                       fault: fault, at: write, following: following)
    }

    /// What of podnet's the node still holds, seen by independent tools: rules or chains
    /// naming podnet (iptables-legacy-save of both families), routes of its protocol in
    /// any table of both families, and links beyond the lab's own (lo, eth0).
    func podnetLeftovers(routeProtocol: UInt8 = NodeConfig.defaultRouteProtocol) throws -> [String] {
        let rules = (try node.run(["iptables-legacy-save"]) + (try node.run(["ip6tables-legacy-save"])))
            .split(separator: "\n").filter { $0.lowercased().contains("podnet") }.map { "rule: \($0)" }
        let routes = try ["-4", "-6"].flatMap { family in
            try node.run(["ip", family, "route", "show", "table", "all", "proto", String(routeProtocol)])
                .split(separator: "\n").map { "route: \($0)" }
        }
        let links = try node.run(["ip", "-br", "link"]).split(separator: "\n")
            .compactMap { $0.split(separator: " ").first?.split(separator: "@").first.map(String.init) }
            .filter { $0 != "lo" && $0 != "eth0" }.map { "link: \($0)" }
        return rules + routes + links
    }

    /// iptables-legacy-save of both families without timestamps and with counters zeroed.
    func savedRules() throws -> String {
        let text = try node.run(["iptables-legacy-save"]) + (try node.run(["ip6tables-legacy-save"]))
        return Self.normalized(text)
    }

    static func normalized(_ save: String) -> String {
        save.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            line.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "[0:0]", options: .regularExpression)
        }.joined(separator: "\n")
    }

    /// Every route of both families, but the IPv6 link-local ones the kernel adds
    /// by itself some time after a link comes up, and every nexthop object.
    func routes() throws -> String {
        let all = try node.run(["ip", "-4", "route", "show", "table", "all"]) + (try node.run(["ip", "-6", "route", "show", "table", "all"]))
            + (try node.run(["ip", "nexthop", "show"]))
        return all.split(separator: "\n").filter { !$0.contains("fe80:") && !$0.hasPrefix("multicast ff00::") }
            .joined(separator: "\n")
    }

    /// `ip [-6] route show ARGS` of both families with each route's `nhid N` left out:
    /// a route through a nexthop object shows its gateway and link as a classic one does.
    func routesShown(_ arguments: [String]) throws -> String {
        let text = try node.run(["ip", "route", "show"] + arguments) + (try node.run(["ip", "-6", "route", "show"] + arguments))
        return text.replacingOccurrences(of: #"nhid \d+ "#, with: "", options: .regularExpression)
    }

    /// Turns forwarding on as apply does. Teardown leaves sysctls as they are, and IPv6
    /// forwarding adds subnet-router anycast routes, so comparisons across a teardown
    /// start from forwarding on.
    func enableForwarding() throws {
        try node.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
    }

    /// Makes the kernel instantiate both families' filter and nat tables, as any
    /// iptables user does, so that iptables-legacy-save lists them before podnet runs.
    func instantiateTables() throws {
        for command in ["iptables-legacy", "ip6tables-legacy"] {
            for table in ["filter", "nat"] { try node.run([command, "-t", table, "-n", "-L"]) }
        }
    }

    func links() throws -> String {
        try node.run(["ip", "-d", "-br", "link"])
    }
}

/// A dual-stack node config with `peers` peers and the given extra YAML.
/// The node of every lab config: node-a, its pod CIDRs and the cluster's.
let labNode = """
    node:
      name: node-a
      podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]
    cluster:
      podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]

    """

func nodeConfig(peers: Int = 2, extra: String = "") -> String {
    var text = labNode
    if peers > 0 {
        text += "peers:\n"
        for index in 0..<peers {
            text += """
              - name: node-\(index + 2)
                nodeIPs: [198.18.0.\(11 + index), "2001:db8::\(String(11 + index, radix: 16))"]
                podCIDRs: [10.244.\(index + 2).0/24, "fd00:10:244:\(String(index + 2, radix: 16))::/64"]

            """
        }
    }
    return text + extra
}

/// The nexthop id podnet gives peer `node-N`'s IPv4 node IP (nodeConfig's peers).
func nexthopID(ofPeer number: Int) -> UInt32 {
    NexthopIDs.derived(NexthopOwner(peer: "node-\(number)", family: .ipv4))
}

func desiredState(_ text: String) throws -> (NodeConfig, DesiredState) {
    let config = try ConfigLoader.load(configText: text, configName: "test.yaml").config
    return (config, try Compiler.compile(config))
}

/// Writes a config to a temporary file for the CLI.
func configFile(_ text: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-\(UUID()).yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
