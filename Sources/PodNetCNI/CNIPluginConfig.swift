import PodNet
import PodNetConfig

/// The plugin's entry of the network configuration, as the runtime passes it on stdin
/// (`cniVersion` and `name` injected from the list; `runtimeConfig` for the capabilities
/// podnet declares; `prevResult` for CHECK and DEL). The node's networking (bridge, pod
/// CIDRs, MTU, hairpin, masquerade) comes from `nodeConfig`, so the entry repeats none of it.
public struct CNIPluginConfig: Sendable {
    public var cniVersion: CNIVersion
    public var networkName: String
    public var nodeConfigPath: String
    public var dataDirectory: String
    public var portMappings: [CNIPortMapping]
    public var prevResult: JSONValue?
    /// GC's `cni.dev/valid-attachments`: every attachment the runtime still has.
    public var validAttachments: [AttachmentID]?

    public static let defaultNodeConfigPath = "/etc/podnet/node.yaml"
    public static let defaultDataDirectory = "/var/lib/podnet"
    public static let pluginType = "podnet"

    /// The version of a request that may not parse: the one it names when it names a
    /// known one, so that even an error answers in the runtime's version.
    public static func requestedVersion(_ bytes: [UInt8]) -> String {
        guard let value = try? JSONValue.parse(bytes), case .string(let version)? = value["cniVersion"] else {
            return CNIVersion.newest.rawValue
        }
        return version
    }

    public init(_ bytes: [UInt8], command: CNICommand) throws(CNIError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw CNIError(.decodeFailure, "the network configuration on stdin is not JSON", details: error.description)
        }
        guard value.members != nil else {
            throw CNIError(.decodeFailure, "the network configuration on stdin is not a JSON object",
                           details: "got \(value.kindDescription)")
        }
        guard case .string(let versionText)? = value["cniVersion"] else {
            throw CNIError(.invalidNetworkConfig, "cniVersion: required (a string such as \"1.0.0\")")
        }
        guard let version = CNIVersion(rawValue: versionText) else {
            throw CNIError(.incompatibleVersion, "incompatible CNI version \"\(versionText)\"",
                           details: "podnet supports " + CNIVersion.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard version.supports(command) else {
            throw CNIError(.incompatibleVersion, "\(command.rawValue) is not part of CNI \(versionText)")
        }
        cniVersion = version
        networkName = value["name"]?.stringValue ?? ""
        if command != .version, networkName.isEmpty {
            throw CNIError(.invalidNetworkConfig, "name: required (the network's name)")
        }
        if let type = value["type"], type.stringValue != Self.pluginType {
            throw CNIError(.invalidNetworkConfig, "type: expected \"\(Self.pluginType)\", got \(type.serialized)")
        }
        nodeConfigPath = try Self.path(value, "nodeConfig", default: Self.defaultNodeConfigPath)
        dataDirectory = try Self.path(value, "dataDir", default: Self.defaultDataDirectory)

        portMappings = []
        if let runtimeConfig = value["runtimeConfig"], !runtimeConfig.isNull {
            guard runtimeConfig.members != nil else {
                throw CNIError(.invalidNetworkConfig, "runtimeConfig: expected an object, got \(runtimeConfig.kindDescription)")
            }
            switch runtimeConfig["portMappings"] {
            case nil, .null?: break
            case .array(let entries)?:
                for (index, entry) in entries.enumerated() {
                    portMappings.append(try CNIPortMapping(entry, path: "runtimeConfig.portMappings[\(index)]"))
                }
            case let other?:
                throw CNIError(.invalidNetworkConfig, "runtimeConfig.portMappings: expected a list, got \(other.kindDescription)")
            }
        }
        prevResult = value["prevResult"].flatMap { $0.isNull ? nil : $0 }
        validAttachments = try value["cni.dev/valid-attachments"].map { list throws(CNIError) in
            guard case .array(let entries) = list else {
                throw CNIError(.invalidNetworkConfig, "cni.dev/valid-attachments: expected a list, got \(list.kindDescription)")
            }
            var attachments: [AttachmentID] = []
            for (index, entry) in entries.enumerated() {
                guard let containerID = entry["containerID"]?.stringValue, let ifname = entry["ifname"]?.stringValue else {
                    throw CNIError(.invalidNetworkConfig,
                                   "cni.dev/valid-attachments[\(index)]: expected {\"containerID\": ..., \"ifname\": ...}")
                }
                attachments.append(AttachmentID(containerID: containerID, ifname: ifname))
            }
            return attachments
        }
    }

    private static func path(_ value: JSONValue, _ key: String, default fallback: String) throws(CNIError) -> String {
        switch value[key] {
        case nil, .null?: return fallback
        case .string(let path)? where path.hasPrefix("/"): return path
        case let other?:
            throw CNIError(.invalidNetworkConfig, "\(key): expected an absolute path, got \(other.serialized)")
        }
    }
}

/// What identifies an attachment to the runtime: the container and its interface.
public struct AttachmentID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var containerID: String
    public var ifname: String

    public init(containerID: String, ifname: String) {
        self.containerID = containerID
        self.ifname = ifname
    }

    public var description: String { "\(containerID)/\(ifname)" }

    public static func < (lhs: AttachmentID, rhs: AttachmentID) -> Bool {
        (lhs.containerID, lhs.ifname) < (rhs.containerID, rhs.ifname)
    }
}
