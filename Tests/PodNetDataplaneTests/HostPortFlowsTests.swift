import Testing
import PodNet
import PodNetNetlink
@testable import PodNetDataplane

/// The UDP host ports whose stale flows an apply clears, each with the destination the
/// DNAT catches (the mapping's host IP, or (nil) every local address) and its target.
@Suite struct HostPortFlowsTests {
    @Test func eachUDPHostPortWithItsHostIPAndTarget() throws {
        let (_, desired) = try desiredState(nodeConfig(peers: 0, extra: """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: udp, hostPort: 5353, containerPort: 53}
              - {podIP: 10.244.1.11, protocol: udp, hostPort: 53, containerPort: 53, hostIP: 198.18.0.10}
              - {podIP: 10.244.1.12, protocol: tcp, hostPort: 8080, containerPort: 80}
            """))
        let nat = try #require(desired.table(TableID(.ipv4, .nat)))
        #expect(HostPortFlows.udpHostPorts(nat) == [
            HostPortFlows.UDPHostPort(port: 53, hostIP: IPAddress("198.18.0.10"),
                                      target: TransportEndpoint(address: IPAddress("10.244.1.11")!, port: 53)),
            HostPortFlows.UDPHostPort(port: 5353, hostIP: nil,
                                      target: TransportEndpoint(address: IPAddress("10.244.1.10")!, port: 53)),
        ])
    }

    /// Only destinations the jumps DNAT: no host IP that is not local, and never ::1.
    @Test func stalesFlowsGoToLocalDestinationsTheJumpsDNATOnly() throws {
        let target = TransportEndpoint(address: IPAddress("fd00:10:244:1::a")!, port: 53)
        let local = [IPNetwork(host: IPAddress("::1")!), IPNetwork(host: IPAddress("2001:db8::10")!)]
        let pods = [try IPNetwork(parsing: "fd00:10:244:1::/64")]
        let everyAddress = HostPortFlows.UDPHostPort(port: 5353, hostIP: nil, target: target)
        #expect(everyAddress.staleFlows(local: local, podCIDRs: pods)?.destinations == [local[1]])
        let remote = HostPortFlows.UDPHostPort(port: 5353, hostIP: IPAddress("2001:db8::1"), target: target)
        #expect(remote.staleFlows(local: local, podCIDRs: pods) == nil)
        let loopback = HostPortFlows.UDPHostPort(port: 5353, hostIP: IPAddress("::1"), target: target)
        #expect(loopback.staleFlows(local: local, podCIDRs: pods) == nil)
        let own = HostPortFlows.UDPHostPort(port: 5353, hostIP: IPAddress("2001:db8::10"), target: target)
        #expect(own.staleFlows(local: local, podCIDRs: pods)
                == FlowSelection(destinationPort: 5353, destinations: [local[1]], keeping: target, formerTargets: pods))
    }
}
