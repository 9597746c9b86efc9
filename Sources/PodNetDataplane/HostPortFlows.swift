import PodNet

/// The UDP host ports an executed table plan added: their existing conntrack
/// flows must go, or packets of those flows keep bypassing the new DNAT (as
/// kubenet and the CNI portmap plugin clear them).
enum HostPortFlows {
    static let hostPortsChain: ChainName = "PODNET-HOSTPORTS"

    static func addedUDPPorts(_ table: TablePlan) -> [UInt16] {
        let rules = table.operations.compactMap { operation -> Rule? in
            switch operation {
            case .insertRule(let chain, _, let rule), .appendRule(let chain, let rule), .replaceRule(let chain, _, _, let rule):
                return chain == hostPortsChain ? rule : nil
            default:
                return nil
            }
        }
        let ports = rules.compactMap { rule -> UInt16? in
            guard rule.proto?.proto == .udp, rule.proto?.negated == false else { return nil }
            for case .udp(let ports) in rule.matches {
                if let range = ports.destinationPorts, range.first == range.last, !ports.destinationNegated {
                    return range.first
                }
            }
            return nil
        }
        return Array(Set(ports)).sorted()
    }
}
