import PodNet
import PodNetConfig

/// One entry of `runtimeConfig.portMappings`: traffic to hostPort on the node (or on
/// hostIP only) goes to the container's containerPort.
public struct CNIPortMapping: Sendable, Hashable {
    public var hostPort: UInt16
    public var containerPort: UInt16
    public var transport: TransportProtocol
    public var hostIP: IPAddress?

    public init(hostPort: UInt16, containerPort: UInt16, transport: TransportProtocol = .tcp, hostIP: IPAddress? = nil) {
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.transport = transport
        self.hostIP = hostIP
    }

    /// Reads one entry; `path` names it in errors (`runtimeConfig.portMappings[0]`).
    /// An empty or all-zero `hostIP` (podman and containerd send "") means every address.
    init(_ value: JSONValue, path: String) throws(CNIError) {
        guard value.members != nil else {
            throw CNIError(.invalidNetworkConfig, "\(path): expected an object, got \(value.kindDescription)")
        }
        func port(_ key: String) throws(CNIError) -> UInt16 {
            guard let field = value[key] else { throw CNIError(.invalidNetworkConfig, "\(path).\(key): required") }
            guard let number = field.intValue, (1...65535).contains(number) else {
                throw CNIError(.invalidNetworkConfig, "\(path).\(key): expected a port from 1 to 65535, got \(field.serialized)")
            }
            return UInt16(number)
        }
        hostPort = try port("hostPort")
        containerPort = try port("containerPort")
        switch value["protocol"] {
        case nil, .null?:
            transport = .tcp
        case .string(let text)?:
            guard let parsed = TransportProtocol(rawValue: text.lowercased()) else {
                throw CNIError(.invalidNetworkConfig, "\(path).protocol: expected tcp, udp or sctp, got \"\(text)\"")
            }
            transport = parsed
        case let other?:
            throw CNIError(.invalidNetworkConfig, "\(path).protocol: expected a string, got \(other.kindDescription)")
        }
        switch value["hostIP"] {
        case nil, .null?, .string("")?, .string("0.0.0.0")?, .string("::")?:
            hostIP = nil
        case .string(let text)?:
            guard let address = IPAddress(text) else {
                throw CNIError(.invalidNetworkConfig, "\(path).hostIP: \"\(text)\" is not an IP address")
            }
            hostIP = address
        case let other?:
            throw CNIError(.invalidNetworkConfig, "\(path).hostIP: expected a string, got \(other.kindDescription)")
        }
    }

    public var json: JSONValue {
        .object([
            "hostPort": .number(String(hostPort)),
            "containerPort": .number(String(containerPort)),
            "protocol": .string(transport.rawValue),
            "hostIP": hostIP.map { .string($0.description) },
        ])
    }
}
