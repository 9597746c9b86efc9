import Foundation
import Testing
import PodNet
import PodNetTestSupport
@testable import PodNetNetlink

/// podnet owns only what it made: every operation, from bridge creation to
/// teardown, leaves other links, addresses and routes as they were.
@Suite struct ForeignStateKernelTests {
    /// The foreign objects' settable properties, as `ip -j -d` shows them.
    static func snapshot(_ ns: TestNamespace) throws -> [String] {
        var lines: [String] = []
        for link in try ipJSON(ns, ["-d", "link", "show"]) {
            let name = link["ifname"] as? String ?? "?"
            guard ["up0", "up1", "br-other", "side0", "side1"].contains(name) else { continue }
            let flags = (link["flags"] as? [String] ?? []).filter { ["UP", "PROMISC"].contains($0) }
            let slave = (link["linkinfo"] as? [String: Any])?["info_slave_data"] as? [String: Any]
            lines.append("link \(name) mtu \(link["mtu"] ?? "-") address \(link["address"] ?? "-") "
                         + "alias \(link["ifalias"] ?? "-") master \(link["master"] ?? "-") flags \(flags) "
                         + "hairpin \(slave?["hairpin"] ?? "-")")
        }
        for entry in try ipJSON(ns, ["addr", "show"]) {
            let name = entry["ifname"] as? String ?? "?"
            guard ["up0", "br-other"].contains(name) else { continue }
            for address in entry["addr_info"] as? [[String: Any]] ?? [] where address["scope"] as? String != "link" {
                lines.append("addr \(name) \(address["local"] ?? "?")/\(address["prefixlen"] ?? "?")")
            }
        }
        for family in ["-4", "-6"] {
            for route in try ipJSON(ns, [family, "route", "show", "table", "all"]) {
                let proto = route["protocol"] as? String ?? "boot"
                guard ["static", "boot"].contains(proto) || route["table"] as? String == "100" else { continue }
                lines.append("route \(route["dst"] ?? "?") via \(route["gateway"] ?? "-") proto \(proto) "
                             + "table \(route["table"] ?? "main") dev \(route["dev"] ?? "-")")
            }
        }
        return lines.sorted()
    }

    @Test(.enabled(if: KernelTest.enabled))
    func everyOperationLeavesForeignStateAsItWas() throws {
        let node = try TestNamespace(), pod = try TestNamespace(prefix: "pnpod")
        defer { pod.delete(); node.delete() }
        try makeUplink(in: node)
        for command in [
            ["link", "add", "br-other", "mtu", "1450", "type", "bridge"],
            ["link", "add", "side0", "type", "veth", "peer", "name", "side1"],
            ["link", "set", "side0", "master", "br-other"],
            ["link", "set", "side0", "type", "bridge_slave", "hairpin", "on"],
            ["addr", "add", "10.244.1.1/24", "dev", "br-other"],
            ["route", "add", "10.3.0.0/24", "via", "192.168.1.3", "proto", "static"],
            ["route", "add", "10.4.0.0/24", "via", "192.168.1.4", "table", "100"],
            ["route", "add", "blackhole", "10.5.0.0/24"],
            ["-6", "route", "add", "fd30::/64", "via", "fd00::3", "proto", "static"],
        ] {
            try runCommand(["ip", "-n", node.name] + command)
        }
        let before = try Self.snapshot(node)
        #expect(before.count >= 10)

        let netlink = try Netlink(namespace: node.namespace)
        let bridgeState = BridgeState(name: "cbr0", mtu: .fixed(1400), macAddress: MACAddress(bytes: [2, 0x42, 10, 244, 1, 1]),
                                      promiscuous: true, hairpinPorts: true)
        let bridge = try netlink.createBridge(bridgeState, mtu: 1400)
        try netlink.setLink(bridge, LinkChanges(mtu: 1380, promiscuous: false))
        try netlink.addAddress(IPAddress("10.244.2.1")!, prefixLength: 24, to: bridge)
        try netlink.addAddress(IPAddress("fd00:244:2::1")!, prefixLength: 64, to: bridge, skipDuplicateDetection: true)
        let attachment = PodAttachment(
            name: "default/a", netnsPath: pod.path, hostInterface: "veth0000000a",
            addresses: [InterfaceAddress(interface: "eth0", address: IPAddress("10.244.2.2")!, prefixLength: 24)],
            gateways: [IPAddress("10.244.2.1")!], mtu: .fixed(1380))
        try netlink.attachPod(attachment, mtu: 1380, bridge: bridge, hairpin: true, routeProtocol: 111)
        for port in try netlink.bridgePorts(of: bridge) { try netlink.setHairpin(false, port: port) }
        let routes = [
            RouteKernelTests.route("10.3.0.0/24", via: "192.168.1.2"),
            RouteKernelTests.route("10.4.0.0/24", via: "192.168.1.2"),
            RouteKernelTests.route("10.5.0.0/24", via: "192.168.1.2"),
            RouteKernelTests.route("10.6.0.0/24", via: "192.168.1.2"),
            RouteKernelTests.route("fd30::/64", via: "fd00::2"),
        ]
        let added = try netlink.addRoutes(routes)
        #expect(added.conflicts.map(\.wanted.destination.description).sorted() == ["10.3.0.0/24", "10.5.0.0/24", "fd30::/64"])
        _ = try netlink.replaceRoutes(routes.map { RouteState(destination: $0.destination, gateway: $0.family == .ipv4
                                                                ? IPAddress("192.168.1.5")! : IPAddress("fd00::5")!,
                                                                table: $0.table, proto: $0.proto) })
        #expect(try netlink.bridgeAddresses(of: bridge).filter { $0.family == .ipv4 }.count == 1)
        _ = try netlink.deleteRoutes(try netlink.ownedRoutes(proto: 111, table: 254))
        try netlink.detachPod(hostInterface: attachment.hostInterface)
        try netlink.deleteBridge(named: "cbr0")
        #expect(throws: NetlinkOperationError.bridgeNotOwned(name: "br-other", alias: nil)) {
            try netlink.deleteBridge(named: "br-other")
        }

        #expect(try Self.snapshot(node) == before)
    }
}
