import PodNet
import PodNetNetlink

/// The UDP host ports of a nat table in place, and which of their conntrack flows
/// must go: a flow toward the port that was not DNATed to the mapping's pod (it
/// began before the host port existed, or while it led to another pod) keeps
/// bypassing the DNAT until it times out (kubenet and the CNI portmap plugin clear
/// such flows when they add a port).
///
/// The kernel tells which flows those are: a DNATed flow's reply tuple comes from
/// the DNAT's target, any other from the address it was sent to. So each apply
/// that has the nat table in place clears them, whether or not it changed the
/// table: a podnet killed between the nat commit and the clearing leaves nothing
/// behind that the next run does not see, with no record of its own to keep.
/// Only flows the host port's jumps could have DNATed go: to a local address (as
/// `-m addrtype --dst-type LOCAL` matches), not IPv6's ::1 (the OUTPUT jump leaves
/// [::1]:port the node's own), and either un-NATed or DNATed to another address of
/// the node's pod CIDRs (a former mapping's pod); a flow another program's DNAT sent
/// elsewhere is not podnet's.
enum HostPortFlows {
    /// A UDP port the host ports catch, on one host IP or (nil) on every local
    /// address (only flows to those destinations meet the DNAT), and the pod's
    /// address and port the DNAT sends it to.
    struct UDPHostPort: Hashable {
        var port: UInt16
        var hostIP: IPAddress?
        var target: TransportEndpoint

        /// The stale flows, with `local` the node's local networks of the family and
        /// `podCIDRs` its pod CIDRs; nil when the host IP is no local address, as
        /// nothing sent to it enters the host ports chain.
        func staleFlows(local: [IPNetwork], podCIDRs: [IPNetwork]) -> FlowSelection? {
            let dnated = local.filter { $0 != HostPortFlows.ipv6Loopback }
            let destinations: [IPNetwork]
            if let hostIP {
                guard dnated.contains(where: { $0.contains(hostIP) }) else { return nil }
                destinations = [IPNetwork(host: hostIP)]
            } else {
                destinations = dnated
            }
            return FlowSelection(destinationPort: port, destinations: destinations, keeping: target,
                                 formerTargets: podCIDRs)
        }
    }

    /// ::1, which the IPv6 OUTPUT jump to the host ports leaves out: IPv6 has no
    /// route_localnet, so a packet from [::1] DNATed to a pod could not leave `lo`.
    static let ipv6Loopback = IPNetwork(host: IPAddress(ipv6: 0, 1))

    /// In the order of the host ports chain's dispatch rules, each once.
    static func udpHostPorts(_ nat: TableState) -> [UDPHostPort] {
        guard let dispatch = nat.chains.first(where: { $0.name == .hostPorts }) else { return [] }
        let mappings = Dictionary(nat.chains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<UDPHostPort>(), ports: [UDPHostPort] = []
        for rule in dispatch.rules {
            guard let port = udpDestinationPort(rule), case .jump(let name) = rule.target,
                  let target = mappings[name].flatMap(dnatTarget) else { continue }
            let hostPort = UDPHostPort(port: port, hostIP: hostIP(rule), target: target)
            if seen.insert(hostPort).inserted { ports.append(hostPort) }
        }
        return ports
    }

    /// The mapping chain's DNAT to one address and port.
    private static func dnatTarget(_ chain: Chain) -> TransportEndpoint? {
        for rule in chain.rules {
            if case .dnat(let nat) = rule.target, let address = nat.minAddress, nat.maxAddress == address,
               let ports = nat.ports, ports.first == ports.last {
                return TransportEndpoint(address: address, port: ports.first)
            }
        }
        return nil
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
