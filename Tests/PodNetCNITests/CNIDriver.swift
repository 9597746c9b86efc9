import Foundation
import PodNetConfig
import PodNetTestSupport

/// Calls the podnet binary as libcni 1.1 calls a plugin: the network's conflist turned
/// into the plugin's stdin (`cniVersion` and `name` injected, `runtimeConfig` only for the
/// capabilities the plugin declares, `prevResult` for CHECK and DEL from the result
/// cached after ADD), the `CNI_*` environment, and the result read from stdout only.
/// It runs inside a node's network namespace (`ip netns exec`), where the runtime would.
struct CNIDriver {
    var networkName = "podnet"
    var version: String
    var nodeConfig: String
    var dataDir: String
    /// The node namespace the plugin runs in.
    var node: String
    /// The test's own lock files (podnet's and the xtables lock).
    var environment: [String: String]
    /// libcni's /var/lib/cni/results.
    var cacheDirectory: String
    /// A command the plugin runs under (strace), before the binary.
    var wrapper: [String] = []

    /// What the binary did: its exit status, stdout parsed (it must be one JSON value
    /// or nothing) and stderr.
    struct Outcome {
        var status: Int32
        var stdout: String
        var json: JSONValue?
        var stderr: String

        var code: Int? { json?["code"]?.intValue }
    }

    /// The plugin entry of the conflist.
    var pluginEntry: JSONValue {
        .object([
            "type": "podnet",
            "nodeConfig": .string(nodeConfig),
            "dataDir": .string(dataDir),
            "capabilities": .object(["portMappings": true]),
        ])
    }

    /// libcni's buildOneConfig: the entry with the list's cniVersion and name, the
    /// runtime's config for declared capabilities, and prevResult.
    func stdin(runtimeConfig: JSONValue? = nil, prevResult: JSONValue? = nil, extra: [JSONValue.Member] = []) -> String {
        var members = pluginEntry.members!
        members.insert(JSONValue.Member("name", .string(networkName)), at: 0)
        members.insert(JSONValue.Member("cniVersion", .string(version)), at: 0)
        if let runtimeConfig { members.append(JSONValue.Member("runtimeConfig", runtimeConfig)) }
        if let prevResult { members.append(JSONValue.Member("prevResult", prevResult)) }
        return JSONValue.object(members + extra).serialized
    }

    func invoke(_ command: String, containerID: String = "", netns: String = "", ifname: String = "",
                args: String = "IgnoreUnknown=1", stdin: String) throws -> Outcome {
        let variables = environment.merging([
            "CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_NETNS": netns, "CNI_IFNAME": ifname,
            "CNI_ARGS": args, "CNI_PATH": "/opt/cni/bin:/usr/lib/cni",
        ]) { $1 }
        let result = try runProcess("/usr/bin/env", ["ip", "netns", "exec", node] + wrapper + [PodNetBinary.path], stdin: stdin,
                                    environment: variables)
        let trimmed = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let json = trimmed.isEmpty ? nil : try JSONValue.parse(trimmed)
        return Outcome(status: result.status, stdout: result.stdout, json: json, stderr: result.stderr)
    }

    private func cachePath(_ containerID: String, _ ifname: String) -> String {
        "\(cacheDirectory)/\(networkName)-\(containerID)-\(ifname)"
    }

    func cachedResult(_ containerID: String, _ ifname: String) -> JSONValue? {
        guard let text = try? String(contentsOfFile: cachePath(containerID, ifname), encoding: .utf8) else { return nil }
        return try? JSONValue.parse(text)
    }

    func add(_ containerID: String, netns: String, ifname: String = "eth0", portMappings: [JSONValue] = [],
             args: String = "IgnoreUnknown=1") throws -> Outcome {
        let runtimeConfig: JSONValue? = portMappings.isEmpty ? nil : .object(["portMappings": .array(portMappings)])
        let outcome = try invoke("ADD", containerID: containerID, netns: netns, ifname: ifname, args: args,
                                 stdin: stdin(runtimeConfig: runtimeConfig))
        if outcome.status == 0, let json = outcome.json {
            try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            try json.serialized.write(toFile: cachePath(containerID, ifname), atomically: true, encoding: .utf8)
        }
        return outcome
    }

    func check(_ containerID: String, netns: String, ifname: String = "eth0", prevResult: JSONValue? = nil) throws -> Outcome {
        try invoke("CHECK", containerID: containerID, netns: netns, ifname: ifname,
                   stdin: stdin(prevResult: prevResult ?? cachedResult(containerID, ifname)))
    }

    func del(_ containerID: String, netns: String, ifname: String = "eth0") throws -> Outcome {
        let outcome = try invoke("DEL", containerID: containerID, netns: netns, ifname: ifname,
                                 stdin: stdin(prevResult: cachedResult(containerID, ifname)))
        if outcome.status == 0 { try? FileManager.default.removeItem(atPath: cachePath(containerID, ifname)) }
        return outcome
    }

    func status() throws -> Outcome {
        try invoke("STATUS", stdin: stdin())
    }

    func gc(keeping valid: [(String, String)]) throws -> Outcome {
        let attachments = JSONValue.array(valid.map { .object(["containerID": .string($0.0), "ifname": .string($0.1)]) })
        return try invoke("GC", stdin: stdin(extra: [JSONValue.Member("cni.dev/valid-attachments", attachments)]))
    }

    func versionInfo() throws -> Outcome {
        try invoke("VERSION", stdin: #"{"cniVersion":"\#(version)"}"#)
    }
}
