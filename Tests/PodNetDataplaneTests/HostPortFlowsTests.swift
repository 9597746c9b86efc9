import Testing
import PodNet
@testable import PodNetDataplane

/// The UDP host ports whose old flows an apply clears, each with the destination the
/// DNAT catches: the mapping's host IP, or (nil) every local address.
@Suite struct HostPortFlowsTests {
    @Test func eachAddedUDPHostPortWithItsHostIP() throws {
        let (_, desired) = try desiredState(nodeConfig(peers: 0, extra: """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: udp, hostPort: 5353, containerPort: 53}
              - {podIP: 10.244.1.11, protocol: udp, hostPort: 53, containerPort: 53, hostIP: 198.18.0.10}
              - {podIP: 10.244.1.12, protocol: tcp, hostPort: 8080, containerPort: 80}
            """))
        let nat = try #require(TableDiff.plan(desired: desired.table(TableID(.ipv4, .nat)), observed: nil))
        #expect(HostPortFlows.addedUDPHostPorts(nat) == [
            HostPortFlows.UDPHostPort(port: 53, hostIP: IPAddress("198.18.0.10")),
            HostPortFlows.UDPHostPort(port: 5353, hostIP: nil),
        ])
    }
}
