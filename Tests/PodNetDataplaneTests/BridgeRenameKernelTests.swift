import Foundation
import Testing
import PodNet
import PodNetTestSupport

/// A change of `bridge.name`: the pods move to the new bridge and the old one of
/// podnet's goes (its gateway addresses and connected routes with it), or, when a
/// link podnet did not attach is still on it, stays without its addresses and with
/// route_localnet closed.
@Suite(.serialized) struct BridgeRenameKernelTests {
    static func config(bridge: String, pod: String) -> String {
        nodeConfig(peers: 0, extra: """
            bridge: {name: \(bridge)}
            hostPorts:
              - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}
            pods:
              - {name: web, netns: \(pod), ips: [10.244.1.10]}

            """)
    }

    func sysctl(_ lab: NodeLab, _ bridge: String) throws -> String {
        try lab.node.run(["cat", "/proc/sys/net/ipv4/conf/\(bridge)/route_localnet"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func renamedBridgeTakesThePodsAndTheOldOneGoes() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        defer { lab.delete() }
        #expect(try lab.podnet(["apply", "-f", try configFile(Self.config(bridge: "cbr0", pod: pod.name))]).status == 0)
        #expect(try sysctl(lab, "cbr0") == "1")
        let renamed = try configFile(Self.config(bridge: "cbr1", pod: pod.name))
        let apply = try lab.podnet(["apply", "-f", renamed])
        #expect(apply.status == 0, "\(apply.stderr)")
        let links = try lab.node.run(["ip", "-br", "link"])
        #expect(!links.contains("cbr0"), "the old bridge is gone: \(links)")
        let ports = try lab.node.run(["ip", "-br", "link", "show", "master", "cbr1"])
        #expect(!ports.isEmpty, "the pod is on the new bridge")
        let routes = try lab.node.run(["ip", "-4", "route", "show", "10.244.1.0/24"])
        #expect(routes.split(separator: "\n").count == 1 && routes.contains("dev cbr1"), "\(routes)")
        #expect(try sysctl(lab, "cbr1") == "1")
        try lab.node.run(["ping", "-c", "1", "-W", "2", "10.244.1.10"])
        let diff = try lab.podnet(["diff", "-f", renamed])
        #expect(diff.status == 0, "\(diff.stdout)\(diff.stderr)")
    }

    @Test(.enabled(if: KernelTest.enabled))
    func oldBridgeWithAForeignPortStaysWithRouteLocalnetOff() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        defer { lab.delete() }
        #expect(try lab.podnet(["apply", "-f", try configFile(Self.config(bridge: "cbr0", pod: pod.name))]).status == 0)
        try lab.node.run(["ip", "link", "add", "foreign0", "type", "veth", "peer", "name", "foreign1"])
        try lab.node.run(["ip", "link", "set", "foreign0", "master", "cbr0"])
        let renamed = try configFile(Self.config(bridge: "cbr1", pod: pod.name))
        let diff = try lab.podnet(["diff", "-f", renamed])
        #expect(diff.stdout.contains("net.ipv4.conf.cbr0.route_localnet=0"), "\(diff.stdout)")
        #expect(try lab.podnet(["apply", "-f", renamed]).status == 0)
        #expect(try sysctl(lab, "cbr0") == "0")
        let routes = try lab.node.run(["ip", "-4", "route", "show", "10.244.1.0/24"])
        #expect(routes.split(separator: "\n").count == 1 && routes.contains("dev cbr1"), "\(routes)")
        #expect(try lab.node.run(["ip", "-br", "link", "show", "master", "cbr0"]).contains("foreign0"))
        #expect(try sysctl(lab, "cbr1") == "1")
        #expect(try lab.podnet(["diff", "-f", renamed]).status == 0)
        // teardown of the configured bridge leaves the old one to a teardown without a config.
        #expect(try lab.podnet(["teardown", "-f", renamed]).status == 0)
        #expect(try lab.node.run(["ip", "-br", "link"]).contains("cbr0"))
    }
}
