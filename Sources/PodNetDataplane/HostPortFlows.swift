import PodNet

/// The UDP host ports an executed table plan added: their existing conntrack
/// flows must go, or packets of those flows keep bypassing the new DNAT (as
/// kubenet and the CNI portmap plugin clear them).
enum HostPortFlows {
    /// A UDP port the host ports now catch, on one host IP or (nil) on every local
    /// address: only flows to those destinations would have met the new DNAT.
    struct UDPHostPort: Hashable {
        var port: UInt16
        var hostIP: IPAddress?
    }

    /// In the order the plan added them, each once.
    static func addedUDPHostPorts(_ table: TablePlan) -> [UDPHostPort] {
        var seen = Set<UDPHostPort>(), ports: [UDPHostPort] = []
        for operation in table.operations {
            guard operation.chain == .hostPorts, let rule = operation.addedRule,
                  let port = udpDestinationPort(rule) else { continue }
            let hostPort = UDPHostPort(port: port, hostIP: hostIP(rule))
            if seen.insert(hostPort).inserted { ports.append(hostPort) }
        }
        return ports
    }

    /// The dispatch rule's `-d hostIP/32` (or /128), when it has one.
    private static func hostIP(_ rule: Rule) -> IPAddress? {
        guard let destination = rule.destination, !destination.negated,
              destination.mask == IPNetwork(host: destination.address).netmask else { return nil }
        return destination.address
    }

    private static func udpDestinationPort(_ rule: Rule) -> UInt16? {
        guard rule.proto?.proto == .udp, rule.proto?.negated == false else { return nil }
        for case .udp(let ports) in rule.matches {
            if let range = ports.destinationPorts, range.first == range.last, !ports.destinationNegated {
                return range.first
            }
        }
        return nil
    }
}

extension TableOperation {
    /// The rule an insert, append or replace puts in place.
    fileprivate var addedRule: Rule? {
        switch self {
        case .insertRule(_, _, let rule), .appendRule(_, let rule), .replaceRule(_, _, _, let rule): return rule
        default: return nil
        }
    }
}
