import Foundation
import Testing
import PodNet
import PodNetSystem
import PodNetTestSupport
@testable import PodNetNetlink

@Suite struct PodKernelTests {
    static let proto: UInt8 = 111
    static let gateway4 = IPAddress("10.244.1.1")!
    static let gateway6 = IPAddress("fd00:244:1::1")!

    static func pod(_ name: String, _ ns: TestNamespace, host: Int) -> PodAttachment {
        PodAttachment(
            name: name, netnsPath: ns.path, hostInterface: "veth" + String(repeating: String(host), count: 8),
            addresses: [
                InterfaceAddress(interface: "eth0", address: IPAddress("10.244.1.\(host)")!, prefixLength: 24),
                InterfaceAddress(interface: "eth0", address: IPAddress("fd00:244:1::\(host)")!, prefixLength: 64),
            ],
            gateways: [gateway4, gateway6], mtu: .fixed(1400))
    }

    /// A node namespace with podnet's bridge carrying both gateways.
    static func node(_ ns: TestNamespace) throws -> (Netlink, Link) {
        let netlink = try Netlink(namespace: ns.namespace)
        let bridge = try netlink.createBridge(
            BridgeState(name: "cbr0", mtu: .fixed(1400), macAddress: MACAddress(bytes: [2, 0x42, 10, 244, 1, 1]),
                        promiscuous: false, hairpinPorts: true), mtu: 1400)
        try netlink.addAddress(gateway4, prefixLength: 24, to: bridge)
        try netlink.addAddress(gateway6, prefixLength: 64, to: bridge, skipDuplicateDetection: true)
        return (netlink, bridge)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func attachedPodsReachTheGatewayAndEachOtherOverBothFamiliesAtOnce() throws {
        let node = try TestNamespace(), podA = try TestNamespace(prefix: "pnpod"), podB = try TestNamespace(prefix: "pnpod")
        defer { podA.delete(); podB.delete(); node.delete() }
        // Start the pods with lo down, as a fresh container namespace has it.
        try runCommand(["ip", "-n", podA.name, "link", "set", "lo", "down"])
        let (netlink, bridge) = try Self.node(node)
        let a = Self.pod("default/a", podA, host: 2), b = Self.pod("default/b", podB, host: 3)
        try netlink.attachPod(a, mtu: 1400, bridge: bridge, hairpin: true, routeProtocol: Self.proto)
        try netlink.attachPod(b, mtu: 1400, bridge: bridge, hairpin: true, routeProtocol: Self.proto)

        // No waiting: the IPv6 addresses skipped duplicate address detection.
        for target in ["10.244.1.1", "10.244.1.3", "fd00:244:1::1", "fd00:244:1::3"] {
            try podA.run(["ping", "-c", "1", "-W", "5", target])
        }
        for target in ["10.244.1.2", "fd00:244:1::2"] {
            try podB.run(["ping", "-c", "1", "-W", "5", target])
        }

        // The kernel agrees with what was asked, per `ip`.
        let eth0 = try #require(try ipJSON(podA, ["-d", "link", "show", "eth0"]).first)
        #expect(eth0["mtu"] as? Int == 1400)
        #expect((eth0["flags"] as? [String] ?? []).contains("UP"))
        let addresses = try ipJSON(podA, ["addr", "show", "eth0"]).first?["addr_info"] as? [[String: Any]] ?? []
        let v6 = try #require(addresses.first { $0["local"] as? String == "fd00:244:1::2" })
        #expect(v6["prefixlen"] as? Int == 64)
        #expect(v6["nodad"] as? Bool == true)
        #expect(v6["tentative"] == nil)
        #expect(try ipRoutes(podA, family: .ipv4, ["default"]) == ["default via 10.244.1.1"])
        #expect(try ipRoutes(podA, family: .ipv6, ["default"]) == ["default via fd00:244:1::1"])
        let host = try #require(try ipJSON(node, ["-d", "link", "show", a.hostInterface]).first)
        #expect(host["master"] as? String == "cbr0")
        #expect(host["mtu"] as? Int == 1400)
        #expect(host["ifalias"] as? String == PodMarker(a).alias)
        let slave = (host["linkinfo"] as? [String: Any])?["info_slave_data"] as? [String: Any]
        #expect(slave?["hairpin"] as? Bool == true)

        // Observation reads it back.
        #expect(try netlink.observePods() == [
            ObservedPod(name: "default/a", hostInterface: a.hostInterface, specDigest: a.specDigest),
            ObservedPod(name: "default/b", hostInterface: b.hostInterface, specDigest: b.specDigest),
        ])
        let inside = try Netlink.observePodInterface(in: podA.namespace)
        #expect(inside.addresses == a.addresses)
        #expect(inside.gateways == [Self.gateway4, Self.gateway6])
        #expect(inside.link.mtu == 1400)
        #expect(inside.link.isUp)
        #expect(inside.loopbackUp)

        // Removal deletes the host end and with it the pod's end.
        try netlink.detachPod(hostInterface: a.hostInterface)
        #expect(try netlink.link(named: a.hostInterface) == nil)
        #expect(try ipJSON(podA, ["link", "show"]).compactMap { $0["ifname"] as? String } == ["lo"])
        #expect(try netlink.observePods().map(\.name) == ["default/b"])
    }

    @Test(.enabled(if: KernelTest.enabled))
    func detachLeavesALinkWithoutPodnetsMarker() throws {
        let node = try TestNamespace()
        defer { node.delete() }
        try runCommand(["ip", "-n", node.name, "link", "add", "vethforeign", "type", "veth", "peer", "name", "p"])
        let netlink = try Netlink(namespace: node.namespace)
        #expect(throws: NetlinkOperationError.podInterfaceNotOwned(name: "vethforeign", alias: nil)) {
            try netlink.detachPod(hostInterface: "vethforeign")
        }
        #expect(try netlink.link(named: "vethforeign") != nil)
    }

    /// A failure inside the pod (a gateway off the pod's subnet) leaves no host end behind.
    @Test(.enabled(if: KernelTest.enabled))
    func aFailedAttachIsUndone() throws {
        let node = try TestNamespace(), podA = try TestNamespace(prefix: "pnpod")
        defer { podA.delete(); node.delete() }
        let (netlink, bridge) = try Self.node(node)
        var pod = Self.pod("default/a", podA, host: 2)
        pod.gateways = [IPAddress("10.99.0.1")!]
        #expect {
            try netlink.attachPod(pod, mtu: 1400, bridge: bridge, hairpin: false, routeProtocol: Self.proto)
        } throws: { error in
            guard case .failed(let command, _, let cause) = error as? NetlinkOperationError else { return false }
            return command.hasPrefix("ip route add default via 10.99.0.1")
                && cause.kernelReason?.message == "Nexthop has invalid gateway"
        }
        #expect(try netlink.links().map(\.name).sorted() == ["cbr0", "lo"], "no host end, under either name")
        #expect(try ipJSON(podA, ["link", "show"]).compactMap { $0["ifname"] as? String } == ["lo"])
    }

    /// The host end is named last, with its mark: a foreign link holding that name makes
    /// the rename fail, and the pod's veth (made under its temporary name) goes again.
    @Test(.enabled(if: KernelTest.enabled))
    func anAttachWhoseHostNameIsTakenLeavesTheTakerAndNothingElse() throws {
        let node = try TestNamespace(), podA = try TestNamespace(prefix: "pnpod")
        defer { podA.delete(); node.delete() }
        let (netlink, bridge) = try Self.node(node)
        let pod = Self.pod("default/a", podA, host: 2)
        try runCommand(["ip", "-n", node.name, "link", "add", pod.hostInterface, "type", "veth", "peer", "name", "theirs"])
        #expect {
            try netlink.attachPod(pod, mtu: 1400, bridge: bridge, hairpin: false, routeProtocol: Self.proto)
        } throws: { error in
            guard case .failed(let command, _, let cause) = error as? NetlinkOperationError else { return false }
            return command.contains("name \(pod.hostInterface) alias") && cause.kernelReason?.errno == EEXIST
        }
        #expect(try netlink.links().map(\.name).sorted() == ["cbr0", "lo", pod.hostInterface, "theirs"].sorted())
        #expect(try netlink.link(named: pod.hostInterface)?.alias == nil)
        #expect(try ipJSON(podA, ["link", "show"]).compactMap { $0["ifname"] as? String } == ["lo"])
    }
}
