import PodNet

/// Host ports are sockets of the node: two attachments (or an attachment and the
/// config's `hostPorts`) cannot both have tcp/8080 of one family, unless each is bound
/// to a different host IP. A mapping without hostIP takes every local address, as
/// Kubernetes' scheduler treats 0.0.0.0.
enum HostPortClaims {
    static func check(_ allocation: Allocation, against existing: [HostPortMapping]) throws(CNIError) {
        let wanted = allocation.hostPortMappings
        for (index, mapping) in wanted.enumerated() {
            let others = existing + wanted[..<index]
            if let clash = others.first(where: { takesSameSocket($0, mapping) }) {
                throw CNIError(.invalidNetworkConfig,
                               "runtimeConfig.portMappings: \(mapping.transport.rawValue)/\(mapping.hostPort) "
                                   + "\(place(mapping.hostIP, mapping.family)) is already taken",
                               details: "by \(clash.podName ?? clash.podIP.description) (\(clash.comment))")
            }
        }
    }

    static func takesSameSocket(_ a: HostPortMapping, _ b: HostPortMapping) -> Bool {
        a.family == b.family && a.transport == b.transport && a.hostPort == b.hostPort
            && (a.hostIP == nil || b.hostIP == nil || a.hostIP == b.hostIP)
    }

    private static func place(_ hostIP: IPAddress?, _ family: IPFamily) -> String {
        hostIP.map { "on \($0)" } ?? "on every local \(family.rawValue) address"
    }
}
