import PodNet

/// The UDP host ports an executed table plan added: their existing conntrack
/// flows must go, or packets of those flows keep bypassing the new DNAT (as
/// kubenet and the CNI portmap plugin clear them).
enum HostPortFlows {
    static func addedUDPPorts(_ table: TablePlan) -> [UInt16] {
        var ports = Set<UInt16>()
        for operation in table.operations {
            guard operation.chain == .hostPorts, let rule = operation.addedRule,
                  let port = udpDestinationPort(rule) else { continue }
            ports.insert(port)
        }
        return ports.sorted()
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
