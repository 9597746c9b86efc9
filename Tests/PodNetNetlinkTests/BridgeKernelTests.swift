import Testing
import PodNet
import PodNetTestSupport
@testable import PodNetNetlink

@Suite struct BridgeKernelTests {
    static let mac = MACAddress(bytes: [0x02, 0x42, 0x0a, 0xf4, 0x01, 0x01])

    static func bridge(promiscuous: Bool) -> BridgeState {
        BridgeState(name: "cbr0", mtu: .fixed(1400), macAddress: mac, promiscuous: promiscuous, hairpinPorts: true)
    }

    /// `ip -j -d link show NAME` as one object.
    static func shown(_ ns: TestNamespace, _ name: String) throws -> [String: Any] {
        try #require(try ipJSON(ns, ["-d", "link", "show", name]).first)
    }

    @Test(.enabled(if: KernelTest.enabled), arguments: [true, false])
    func createdBridgeMatchesWhatWasAsked(promiscuous: Bool) throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let netlink = try Netlink(namespace: ns.namespace)
        try netlink.createBridge(Self.bridge(promiscuous: promiscuous), mtu: 1400)

        let link = try Self.shown(ns, "cbr0")
        #expect(link["mtu"] as? Int == 1400)
        #expect(link["address"] as? String == "02:42:0a:f4:01:01")
        #expect(link["ifalias"] as? String == BridgeState.ownershipAlias)
        #expect(link["promiscuity"] as? Int == (promiscuous ? 1 : 0))
        let flags = link["flags"] as? [String] ?? []
        #expect(flags.contains("UP"))
        #expect(flags.contains("PROMISC") == promiscuous)
        #expect((link["linkinfo"] as? [String: Any])?["info_kind"] as? String == "bridge")
        #expect(try netlink.ownedBridge(named: "cbr0")?.name == "cbr0")
    }

    @Test(.enabled(if: KernelTest.enabled))
    func promiscuityMTUAndMACAreChangedOnTheOwnedBridge() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let netlink = try Netlink(namespace: ns.namespace)
        let bridge = try netlink.createBridge(Self.bridge(promiscuous: true), mtu: 1400)
        let newMAC = MACAddress(bytes: [0x02, 0x42, 0x0a, 0xf4, 0x02, 0x01])
        try netlink.setLink(bridge, LinkChanges(mtu: 1300, macAddress: newMAC, promiscuous: false))
        let link = try Self.shown(ns, "cbr0")
        #expect(link["mtu"] as? Int == 1300)
        #expect(link["address"] as? String == "02:42:0a:f4:02:01")
        #expect((link["flags"] as? [String] ?? []).contains("UP"))
        #expect(link["promiscuity"] as? Int == 0)
        #expect(try netlink.observeBridge(named: "cbr0")?.promiscuous == false)
    }

    /// The same bridge made with `ip` commands (as the dry run prints them) and
    /// by podnet observes the same.
    @Test(.enabled(if: KernelTest.enabled))
    func observationOfABridgeMadeWithIpEqualsPodnets() throws {
        let byIp = try TestNamespace(), byPodnet = try TestNamespace()
        defer { byIp.delete(); byPodnet.delete() }
        for command in [
            ["link", "add", "cbr0", "mtu", "1400", "address", "02:42:0a:f4:01:01", "type", "bridge"],
            ["link", "set", "cbr0", "alias", BridgeState.ownershipAlias, "promisc", "on", "up"],
            ["addr", "add", "10.244.1.1/24", "dev", "cbr0"],
            ["addr", "add", "fd00:244:1::1/64", "dev", "cbr0", "nodad"],
            ["link", "add", "vethA", "type", "veth", "peer", "name", "peerA"],
            ["link", "set", "vethA", "master", "cbr0", "up"],
            ["link", "set", "vethA", "type", "bridge_slave", "hairpin", "on"],
        ] {
            try runCommand(["ip", "-n", byIp.name] + command)
        }
        let ipSide = try Netlink(namespace: byIp.namespace)

        let podnet = try Netlink(namespace: byPodnet.namespace)
        let bridge = try podnet.createBridge(Self.bridge(promiscuous: true), mtu: 1400)
        try podnet.addAddress(IPAddress("10.244.1.1")!, prefixLength: 24, to: bridge)
        try podnet.addAddress(IPAddress("fd00:244:1::1")!, prefixLength: 64, to: bridge, skipDuplicateDetection: true)
        try runCommand(["ip", "-n", byPodnet.name, "link", "add", "vethA", "type", "veth", "peer", "name", "peerA"])
        let port = try #require(try podnet.link(named: "vethA"))
        try podnet.setLink(port, LinkChanges(masterIndex: bridge.index, up: true))
        try podnet.setHairpin(true, port: try #require(try podnet.link(named: "vethA")))

        let observedIp = try #require(try ipSide.observeBridge(named: "cbr0"))
        let observedPodnet = try #require(try podnet.observeBridge(named: "cbr0"))
        #expect(observedIp == observedPodnet)
        #expect(observedPodnet.ports == [BridgePort(name: "vethA", hairpin: true)])
        let ipBridge = try #require(try ipSide.ownedBridge(named: "cbr0"))
        #expect(try ipSide.bridgeAddresses(of: ipBridge).map(\.address)
                == [IPAddress("10.244.1.1")!, IPAddress("fd00:244:1::1")!])
        #expect(try ipSide.bridgeAddresses(of: ipBridge) == podnet.bridgeAddresses(of: bridge))
    }

    /// kubenet's rule: the smallest MTU of the up, non-loopback links podnet did not make.
    @Test(.enabled(if: KernelTest.enabled))
    func automaticMTUIgnoresDownLinksLoopbackAndPodnetsOwn() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let netlink = try Netlink(namespace: ns.namespace)
        #expect(try netlink.automaticMTU() == MTUSetting.fallback)
        try makeUplink(in: ns)
        try runCommand(["ip", "-n", ns.name, "link", "set", "up1", "mtu", "1450"])
        try runCommand(["ip", "-n", ns.name, "link", "add", "down0", "mtu", "1300", "type", "veth", "peer", "name", "down1",
                        "mtu", "1300"])
        try netlink.createBridge(Self.bridge(promiscuous: false), mtu: 1200)
        #expect(try netlink.automaticMTU() == 1450)
    }

    /// A bridge without a fixed MAC takes its lowest port MAC; podnet's keeps its own.
    @Test(.enabled(if: KernelTest.enabled))
    func theBridgeMACStaysFixedWhenALowerMACPortJoins() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let netlink = try Netlink(namespace: ns.namespace)
        let bridge = try netlink.createBridge(Self.bridge(promiscuous: false), mtu: 1400)
        try runCommand(["ip", "-n", ns.name, "link", "add", "unfixed", "type", "bridge"])
        for (port, master) in [("portA", "cbr0"), ("portB", "unfixed")] {
            try runCommand(["ip", "-n", ns.name, "link", "add", port, "address", "02:00:00:00:00:01",
                            "type", "veth", "peer", "name", port + "p"])
            try runCommand(["ip", "-n", ns.name, "link", "set", port, "master", master])
        }
        #expect(try Self.shown(ns, "unfixed")["address"] as? String == "02:00:00:00:00:01")
        #expect(try Self.shown(ns, "cbr0")["address"] as? String == "02:42:0a:f4:01:01")
        #expect(try netlink.observeBridge(named: bridge.name)?.macAddress == Self.mac)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func hairpinIsSetAndClearedPerPort() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let netlink = try Netlink(namespace: ns.namespace)
        let bridge = try netlink.createBridge(Self.bridge(promiscuous: false), mtu: 1400)
        for name in ["vethA", "vethB"] {
            try runCommand(["ip", "-n", ns.name, "link", "add", name, "type", "veth", "peer", "name", name + "p"])
            try runCommand(["ip", "-n", ns.name, "link", "set", name, "master", "cbr0"])
        }
        func hairpin(_ name: String) throws -> Bool? {
            let info = try Self.shown(ns, name)["linkinfo"] as? [String: Any]
            return (info?["info_slave_data"] as? [String: Any])?["hairpin"] as? Bool
        }
        let ports = try netlink.bridgePorts(of: bridge)
        #expect(ports.map(\.name).sorted() == ["vethA", "vethB"])
        #expect(ports.allSatisfy { $0.hairpin == false })

        try netlink.setHairpin(true, port: try #require(ports.first { $0.name == "vethA" }))
        #expect(try hairpin("vethA") == true)
        #expect(try hairpin("vethB") == false)
        #expect(try netlink.observeBridge(named: "cbr0")?.ports
                == [BridgePort(name: "vethA", hairpin: true), BridgePort(name: "vethB", hairpin: false)])

        try netlink.setHairpin(false, port: try #require(ports.first { $0.name == "vethA" }))
        #expect(try hairpin("vethA") == false)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func aSameNamedNonBridgeOrUnmarkedBridgeIsAnErrorAndUntouched() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try runCommand(["ip", "-n", ns.name, "link", "add", "cbr0", "mtu", "1300", "type", "veth", "peer", "name", "other"])
        try runCommand(["ip", "-n", ns.name, "link", "add", "br1", "mtu", "1300", "type", "bridge"])
        let netlink = try Netlink(namespace: ns.namespace)
        let before = try runCommand(["ip", "-n", ns.name, "-d", "link", "show"])

        #expect(throws: NetlinkOperationError.notABridge(name: "cbr0", kind: "veth")) {
            try netlink.ownedBridge(named: "cbr0")
        }
        #expect(throws: NetlinkOperationError.bridgeNotOwned(name: "br1", alias: nil)) {
            try netlink.deleteBridge(named: "br1")
        }
        var unmarked = Self.bridge(promiscuous: true)
        unmarked.name = "br1"
        #expect(throws: NetlinkOperationError.self) { try netlink.createBridge(unmarked, mtu: 1400) }
        #expect(try netlink.observeBridge(named: "cbr0")?.isBridge == false)
        #expect(try netlink.observeBridge(named: "br1")?.ownedByPodnet == false)
        #expect(try netlink.ownedBridge(named: "missing") == nil)
        #expect(try runCommand(["ip", "-n", ns.name, "-d", "link", "show"]) == before)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func foreignAddressesOfAPodCIDRFamilyAreReportedByObservation() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let netlink = try Netlink(namespace: ns.namespace)
        let bridge = try netlink.createBridge(Self.bridge(promiscuous: false), mtu: 1400)
        let gateway = InterfaceAddress(interface: "cbr0", address: IPAddress("10.244.1.1")!, prefixLength: 24)
        try netlink.addAddress(gateway.address, prefixLength: 24, to: bridge)
        try runCommand(["ip", "-n", ns.name, "addr", "add", "10.9.9.1/24", "dev", "cbr0"])
        try runCommand(["ip", "-n", ns.name, "addr", "add", "fd99::1/64", "dev", "cbr0", "nodad"])

        let addresses = try ipJSON(ns, ["addr", "show", "cbr0"]).first?["addr_info"] as? [[String: Any]] ?? []
        #expect(addresses.contains { $0["local"] as? String == "10.244.1.1" && $0["prefixlen"] as? Int == 24 })

        // Observation reports every address on the bridge (link-local aside); the diff
        // removes the ones the config does not want, since the bridge is podnet's.
        let observed = try netlink.bridgeAddresses(of: bridge)
        #expect(observed == [gateway, InterfaceAddress(interface: "cbr0", address: IPAddress("10.9.9.1")!, prefixLength: 24),
                             InterfaceAddress(interface: "cbr0", address: IPAddress("fd99::1")!, prefixLength: 64)].sorted())
        // Observing changes nothing.
        #expect(try runCommand(["ip", "-n", ns.name, "addr", "show", "cbr0"]).contains("10.9.9.1/24"))

        try netlink.deleteAddress(gateway.address, prefixLength: 24, from: bridge)
        #expect(try netlink.bridgeAddresses(of: bridge).map(\.address) == [IPAddress("10.9.9.1")!, IPAddress("fd99::1")!])
    }
}
