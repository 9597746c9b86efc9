import Foundation
import PodNetConfig
import PodNetTestSupport

/// A node for CNI tests in a throwaway namespace, with an underlay veth to a second
/// namespace (another host, 198.18.0.1), a node config, a scratch dataDir, lock files
/// and a libcni-like driver. Pods are more throwaway namespaces.
final class CNILab: @unchecked Sendable {
    let node: TestNamespace
    let upstream: TestNamespace
    let directory: String
    var pods: [TestNamespace] = []
    let lock = NSLock()

    static let nodeConfig = """
        node:
          name: cni-node
          podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]
        cluster:
          podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
        """

    init(config: String = CNILab.nodeConfig) throws {
        node = try TestNamespace(prefix: "pncni")
        upstream = try TestNamespace(prefix: "pncniup")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-cni-\(node.name)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try Underlay.connect(node, to: upstream)
        // The other host reaches the node's pods through the node.
        try runCommand(["ip", "-n", upstream.name, "route", "add", "10.244.1.0/24", "via", "198.18.0.10"])
    }

    var configPath: String { directory + "/node.yaml" }
    var dataDir: String { directory + "/data" }
    var lockDirectory: String { directory + "/locks" }
    var environment: [String: String] {
        ["PODNET_LOCK_DIR": lockDirectory, "XTABLES_LOCKFILE": lockDirectory + "/xtables.lock"]
    }

    func driver(version: String = "1.0.0") -> CNIDriver {
        CNIDriver(version: version, nodeConfig: configPath, dataDir: dataDir, node: node.name,
                  environment: environment, cacheDirectory: directory + "/results")
    }

    /// A new pod namespace, deleted with the lab.
    func pod() throws -> TestNamespace {
        let pod = try TestNamespace(prefix: "pncnipod")
        lock.withLock { pods.append(pod) }
        return pod
    }

    /// Ends the processes a test started in the pods (echo servers), then deletes everything.
    func delete() {
        for pod in lock.withLock({ pods }) {
            let pids = ((try? runCommand(["ip", "netns", "pids", pod.name])) ?? "").split(separator: "\n").compactMap { Int32($0) }
            for pid in pids { kill(pid, SIGKILL) }
            pod.delete()
        }
        node.delete()
        upstream.delete()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The podnet CLI on this node, with the lab's store and locks.
    func podnet(_ arguments: [String]) throws -> PodNetBinary.Result {
        try PodNetBinary.run(arguments + ["--netns", node.name, "--data-dir", dataDir], environment: environment)
    }

    /// The allocation records under dataDir (a temporary file a killed run left is none).
    func records() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dataDir + "/allocations")) ?? [])
            .filter { !$0.hasSuffix(".tmp") }.sorted()
    }

    /// What of podnet's pods the node holds: host ends, host-port chains (both families).
    func podLeftovers() throws -> [String] {
        let links = try node.run(["ip", "-br", "link"]).split(separator: "\n")
            .compactMap { $0.split(separator: " ").first?.split(separator: "@").first.map(String.init) }
            .filter { $0.hasPrefix("veth") || $0.hasPrefix("podnet-") }.map { "link: \($0)" }
        let rules = (try node.run(["iptables-legacy-save", "-t", "nat"]) + (try node.run(["ip6tables-legacy-save", "-t", "nat"])))
            .split(separator: "\n").filter { $0.contains("PODNET-HP-") || $0.contains("hostport") }.map { "rule: \($0)" }
        return links + rules
    }

    /// The addresses of the pod's interface (`ip -n POD -br addr show IFNAME`).
    func addresses(in pod: TestNamespace, _ interface: String = "eth0") throws -> [String] {
        guard (try? runCommand(["ip", "-n", pod.name, "link", "show", "dev", interface])) != nil else { return [] }
        return try runCommand(["ip", "-n", pod.name, "-o", "addr", "show", "dev", interface, "scope", "global"])
            .split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ")
                return fields.firstIndex(of: "inet").map { String(fields[$0 + 1]) }
                    ?? fields.firstIndex(of: "inet6").map { String(fields[$0 + 1]) }
            }.sorted()
    }
}
