import PodNet
import PodNetConfig

/// What ADD answers: the interfaces it made (the bridge and the host end, with an empty
/// sandbox, and the container's interface inside its namespace), the addresses on the
/// container's interface with their gateways, and its routes.
public struct CNIResult: Sendable, Equatable {
    public var interfaces: [Interface]
    public var ips: [IP]
    public var routes: [Route]

    public struct Interface: Sendable, Equatable {
        public var name: String
        public var mac: MACAddress?
        public var mtu: Int?
        /// The container's network namespace; empty for an interface of the host.
        public var sandbox: String

        public init(name: String, mac: MACAddress?, mtu: Int? = nil, sandbox: String = "") {
            self.name = name
            self.mac = mac
            self.mtu = mtu
            self.sandbox = sandbox
        }
    }

    public struct IP: Sendable, Equatable {
        public var address: InterfaceAddress
        public var gateway: IPAddress?
        /// The index into `interfaces` of the interface holding the address.
        public var interface: Int?

        public init(address: InterfaceAddress, gateway: IPAddress?, interface: Int?) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }
    }

    public struct Route: Sendable, Equatable {
        public var destination: IPNetwork
        public var gateway: IPAddress?

        public init(destination: IPNetwork, gateway: IPAddress?) {
            self.destination = destination
            self.gateway = gateway
        }
    }

    public init(interfaces: [Interface], ips: [IP], routes: [Route]) {
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
    }

    /// The result in `version`'s shape: `ips[].version` before 1.0.0, interface `mtu`
    /// from 1.1.0.
    public func json(version: CNIVersion) -> JSONValue {
        .object([
            "cniVersion": .string(version.rawValue),
            "interfaces": .array(interfaces.map { interface in
                .object([
                    "name": .string(interface.name),
                    "mac": interface.mac.map { .string($0.description) },
                    "mtu": version >= .v1_1_0 ? interface.mtu.map { .number(String($0)) } : nil,
                    "sandbox": .string(interface.sandbox),
                ])
            }),
            "ips": .array(ips.map { ip in
                .object([
                    "version": version.ipsCarryFamily ? .string(ip.address.family == .ipv4 ? "4" : "6") : nil,
                    "interface": ip.interface.map { .number(String($0)) },
                    "address": .string("\(ip.address.address)/\(ip.address.prefixLength)"),
                    "gateway": ip.gateway.map { .string($0.description) },
                ])
            }),
            "routes": .array(routes.map { route in
                .object([
                    "dst": .string(route.destination.description),
                    "gw": route.gateway.map { .string($0.description) },
                ])
            }),
            "dns": .object([]),
        ])
    }

    /// Reads a result of any supported version (CHECK's and DEL's `prevResult`).
    public init(parsing value: JSONValue, path: String = "prevResult") throws(CNIError) {
        func fail(_ message: String) -> CNIError { CNIError(.invalidNetworkConfig, "\(path).\(message)") }
        var interfaces: [Interface] = []
        for (index, entry) in (value["interfaces"]?.arrayValue ?? []).enumerated() {
            guard let name = entry["name"]?.stringValue else { throw fail("interfaces[\(index)].name: required") }
            var mac: MACAddress?
            if let text = entry["mac"]?.stringValue, !text.isEmpty {
                guard let parsed = MACAddress(text) else { throw fail("interfaces[\(index)].mac: \"\(text)\" is not a MAC address") }
                mac = parsed
            }
            interfaces.append(Interface(name: name, mac: mac, mtu: entry["mtu"]?.intValue,
                                        sandbox: entry["sandbox"]?.stringValue ?? ""))
        }
        var ips: [IP] = []
        for (index, entry) in (value["ips"]?.arrayValue ?? []).enumerated() {
            guard let text = entry["address"]?.stringValue, let slash = text.firstIndex(of: "/"),
                  let address = IPAddress(String(text[..<slash])), let prefix = Int(text[text.index(after: slash)...]) else {
                throw fail("ips[\(index)].address: expected an address with its prefix length")
            }
            var gateway: IPAddress?
            if let text = entry["gateway"]?.stringValue {
                guard let parsed = IPAddress(text) else { throw fail("ips[\(index)].gateway: \"\(text)\" is not an IP address") }
                gateway = parsed
            }
            let interface = entry["interface"]?.intValue
            let name = interface.flatMap { $0 >= 0 && $0 < interfaces.count ? interfaces[$0].name : nil } ?? ""
            ips.append(IP(address: InterfaceAddress(interface: name, address: address, prefixLength: prefix),
                          gateway: gateway, interface: interface))
        }
        var routes: [Route] = []
        for (index, entry) in (value["routes"]?.arrayValue ?? []).enumerated() {
            guard let text = entry["dst"]?.stringValue, let destination = try? IPNetwork(parsing: text) else {
                throw fail("routes[\(index)].dst: expected a network")
            }
            let gateway = entry["gw"]?.stringValue.flatMap(IPAddress.init)
            routes.append(Route(destination: destination, gateway: gateway))
        }
        self.init(interfaces: interfaces, ips: ips, routes: routes)
    }
}

extension MACAddress {
    /// Six colon-separated hex bytes, as `ip link` prints them.
    init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.init(bytes: bytes)
    }
}
