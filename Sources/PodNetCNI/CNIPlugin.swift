import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetDataplane
import PodNetIptables

/// podnet as the node's CNI plugin: one invocation, from its environment and stdin to
/// what goes on stdout (the result, or the error object) and the exit status.
public enum CNIPlugin {
    public struct Outcome: Sendable, Equatable {
        public var output: String
        public var status: Int32
    }

    /// Runs the request; messages for a person go to `warn` (stderr), never to stdout.
    public static func run(variables: [String: String], stdin: [UInt8],
                           warn: (String) -> Void = { _ in }) -> Outcome {
        let requested = CNIPluginConfig.requestedVersion(stdin)
        do throws(CNIError) {
            let environment = try CNIEnvironment(variables)
            if environment.command == .version {
                return Outcome(output: versionResult(requested).serialized, status: 0)
            }
            let request = try CNIPluginConfig(stdin, command: environment.command)
            if environment.command == .status {
                try CNINode.status(request, warn: warn)
                return Outcome(output: "", status: 0)
            }
            let node = try CNINode(request, warn: warn)
            switch environment.command {
            case .add:
                return Outcome(output: try node.add(environment).json(version: request.cniVersion).serialized, status: 0)
            case .del:
                try node.delete(environment)
            case .check:
                try node.check(environment)
            case .gc:
                try node.collectGarbage(keeping: request.validAttachments ?? [])
            case .version, .status:
                break
            }
            return Outcome(output: "", status: 0)
        } catch {
            return Outcome(output: error.json(version: requested).serialized, status: 1)
        }
    }

    /// VERSION: the versions podnet speaks, in the request's version.
    static func versionResult(_ requested: String) -> JSONValue {
        .object([
            "cniVersion": .string(requested),
            "supportedVersions": .array(CNIVersion.allCases.map { .string($0.rawValue) }),
        ])
    }
}
