import Testing
@testable import PodNet

@Suite struct NodeDiffTests {
    let mac = MACAddress(bytes: [0x02, 0x50, 0x4e, 0x00, 0x00, 0x01])
    let otherMAC = MACAddress(bytes: [0x02, 0x00, 0x00, 0x00, 0x00, 0x09])

    var bridge: BridgeState {
        BridgeState(name: "cbr0", mtu: .automatic, macAddress: mac, promiscuous: false, hairpinPorts: true)
    }

    var gateway: InterfaceAddress { InterfaceAddress(interface: "cbr0", address: IPAddress("10.244.1.1")!, prefixLength: 24) }

    func desired(pods: [PodAttachment] = []) -> DesiredState {
        DesiredState(bridge: bridge, addresses: [gateway],
                     sysctls: [SysctlSetting(.ipv4Forwarding, "1"), SysctlSetting(.bridgeCallsIptables, "1")], pods: pods)
    }

    func observedBridge(mtu: Int = 1500, ports: [BridgePort] = [], owned: Bool = true, isBridge: Bool = true) -> ObservedBridge {
        ObservedBridge(name: "cbr0", isBridge: isBridge, ownedByPodnet: owned, mtu: mtu, macAddress: mac,
                       promiscuous: false, up: true, ports: ports)
    }

    @Test func emptyNodeGetsEverything() {
        let plan = NodeDiff.plan(desired: desired(), observed: ObservedNode(automaticMTU: 1500))
        #expect(plan.links == [.createBridge(bridge, mtu: 1500)])
        #expect(plan.addresses == [.add(gateway)])
        #expect(plan.sysctls.map(\.key) == [.bridgeCallsIptables, .ipv4Forwarding])
        #expect(plan.conflicts.isEmpty)
    }

    /// Links an interrupted run left half-made go first, before anything is created under
    /// the same temporary name, whatever the config wants (here no bridge at all).
    @Test func unfinishedLinksAreSweptFirst() {
        let leftovers = [UnfinishedLink.temporaryName(for: "vethabc"), UnfinishedLink.temporaryName(for: "cbr0")]
        let plan = NodeDiff.plan(desired: desired(), observed: ObservedNode(unfinishedLinks: leftovers, automaticMTU: 1500))
        #expect(plan.links == leftovers.sorted().map { .deleteUnfinished(name: $0) } + [.createBridge(bridge, mtu: 1500)])

        let withoutBridge = NodeDiff.plan(desired: DesiredState(), observed: ObservedNode(unfinishedLinks: leftovers))
        #expect(withoutBridge.links == leftovers.sorted().map { .deleteUnfinished(name: $0) })
        let text = PlanText.render(withoutBridge, bridge: nil)
        #expect(text.contains("- ip link del \(leftovers[0])   # left half-made by an interrupted podnet run\n"), "\(text)")
        let document = PlanDocument(withoutBridge, bridge: nil)
        #expect(document.links.map(\.op) == ["deleteUnfinished", "deleteUnfinished"])
        #expect(document.links.map(\.interface) == leftovers.sorted())
    }

    @Test func matchingNodeHasAnEmptyPlan() {
        let observed = ObservedNode(bridge: observedBridge(ports: [BridgePort(name: "veth1", hairpin: true)]),
                                    bridgeAddresses: [gateway],
                                    sysctls: [.ipv4Forwarding: "1", .bridgeCallsIptables: "1"], automaticMTU: 1500)
        let plan = NodeDiff.plan(desired: desired(), observed: observed)
        #expect(plan.isEmpty, "\(plan)")
        #expect(PlanText.render(plan, bridge: bridge) == "No changes: the node matches the config.\n")
    }

    @Test func driftIsRepairedFieldByField() {
        let stray = InterfaceAddress(interface: "cbr0", address: IPAddress("10.99.0.1")!, prefixLength: 24)
        var found = observedBridge(mtu: 9000, ports: [BridgePort(name: "veth1", hairpin: false)])
        found.macAddress = otherMAC
        let observed = ObservedNode(bridge: found, bridgeAddresses: [stray],
                                    sysctls: [.ipv4Forwarding: "0", .bridgeCallsIptables: "1"], automaticMTU: 1500)
        let plan = NodeDiff.plan(desired: desired(), observed: observed)
        #expect(plan.links == [.setMTU(link: "cbr0", from: 9000, to: 1500),
                               .setMACAddress(link: "cbr0", from: otherMAC, to: mac),
                               .setHairpin(port: "veth1", true)])
        #expect(plan.addresses == [.add(gateway), .delete(stray)])
        #expect(plan.sysctls == [SysctlOperation(key: .ipv4Forwarding, from: "0", to: "1")])
    }

    @Test func foreignLinkUnderTheBridgeNameIsAConflictAndNothingTouchesIt() {
        for found in [observedBridge(isBridge: false), observedBridge(owned: false)] {
            let plan = NodeDiff.plan(desired: desired(), observed: ObservedNode(bridge: found, bridgeAddresses: [], automaticMTU: 1500))
            #expect(plan.links.isEmpty && plan.addresses.isEmpty && plan.pods.isEmpty)
            #expect(plan.conflicts.count == 1)
        }
    }

    @Test func changedPodIsReattachedAndUnknownPodsDetached() {
        let pod = PodAttachment(name: "web-1", netnsPath: "/run/netns/web-1", hostInterface: "vethabc",
                                addresses: [InterfaceAddress(interface: "eth0", address: IPAddress("10.244.1.10")!, prefixLength: 24)],
                                gateways: [IPAddress("10.244.1.1")!], mtu: .automatic)
        var moved = pod
        moved.addresses[0].address = IPAddress("10.244.1.11")!
        let stale = ObservedPod(name: "old", hostInterface: "vethold", specDigest: "0")
        let ports = ["vethabc", "vethold"].map { BridgePort(name: $0, hairpin: false) }
        let observed = ObservedNode(bridge: observedBridge(ports: ports), bridgeAddresses: [gateway],
                                    pods: [ObservedPod(name: "web-1", hostInterface: "vethabc", specDigest: pod.specDigest), stale],
                                    automaticMTU: 1500)
        #expect(NodeDiff.plan(desired: desired(pods: [pod]), observed: observed).pods == [.detach(stale)])
        let plan = NodeDiff.plan(desired: desired(pods: [moved]), observed: observed)
        #expect(plan.pods == [.detach(stale),
                              .detach(ObservedPod(name: "web-1", hostInterface: "vethabc", specDigest: pod.specDigest)),
                              .attach(moved, mtu: 1500)])
        // On another bridge (after a change of bridge.name), the same pod is attached again.
        var elsewhere = observed
        elsewhere.bridge = observedBridge(ports: [])
        #expect(NodeDiff.plan(desired: desired(pods: [pod]), observed: elsewhere).pods == [
            .detach(stale), .detach(ObservedPod(name: "web-1", hostInterface: "vethabc", specDigest: pod.specDigest)),
            .attach(pod, mtu: 1500)])
    }

    @Test func dryRunTextShowsEachChange() {
        let old = RouteState(destination: try! IPNetwork(parsing: "10.244.2.0/24"), gateway: IPAddress("198.18.0.9")!, table: 254, proto: 111)
        var new = old
        new.via = .gateway(IPAddress("198.18.0.11")!)
        let rule = Rule(source: AddressMatch(try! IPNetwork(parsing: "10.244.0.0/16")), target: .accept)
        let plan = Plan(tables: [TablePlan(id: TableID(.ipv4, .filter), operations: [.insertRule("PODNET-FORWARD", index: 0, rule)])],
                        sysctls: [SysctlOperation(key: .ipv4Forwarding, from: "0", to: "1")],
                        routes: [.replace(old: old, new: new)])
        #expect(PlanText.render(plan, bridge: bridge) == """
            # ipv4 filter
            + -A PODNET-FORWARD -s 10.244.0.0/16 -j ACCEPT
            # sysctls
            ~ sysctl -w net.ipv4.ip_forward=1   # was 0
            # routes
            - ip route del 10.244.2.0/24 via 198.18.0.9 proto 111
            + ip route replace 10.244.2.0/24 via 198.18.0.11 proto 111
            Plan: 1 iptables operation in 1 table, 1 sysctl, 1 route change.

            """)
    }
}

@Suite struct BridgeSysctlTests {
    let routeLocalnet = SysctlKey.routeLocalnet(interface: "cbr0")

    func desired() -> DesiredState {
        DesiredState(bridge: BridgeState(name: "cbr0", mtu: .automatic, macAddress: MACAddress(bytes: [2, 0, 0, 0, 0, 1]),
                                         promiscuous: false, hairpinPorts: true),
                     sysctls: [SysctlSetting(.ipv4Forwarding, "1"), SysctlSetting(routeLocalnet, "0")])
    }

    /// A link under the bridge's name that is not podnet's bridge: its settings are not
    /// podnet's to change (the conflict says why), the global ones still are.
    @Test func aForeignBridgesSettingsAreLeftAlone() {
        for owned in [true, false] {
            let found = ObservedBridge(name: "cbr0", isBridge: true, ownedByPodnet: owned, mtu: 1500,
                                       macAddress: MACAddress(bytes: [2, 0, 0, 0, 0, 1]), promiscuous: false, up: true, ports: [])
            let plan = NodeDiff.plan(desired: desired(), observed: ObservedNode(
                bridge: found, sysctls: [.ipv4Forwarding: "0", routeLocalnet: "1"], automaticMTU: 1500))
            #expect(plan.sysctls.map(\.key) == (owned ? [routeLocalnet, .ipv4Forwarding] : [.ipv4Forwarding]), "owned: \(owned)")
        }
    }

    /// Which side of the table commits each change goes on.
    @Test(arguments: [
        (SysctlKey.ipv4Forwarding, "1", SysctlDirection.opens), (.ipv4Forwarding, "0", .closes),
        (.ipv6Forwarding, "1", .opens),
        (.routeLocalnet(interface: "cbr0"), "1", .opens), (.routeLocalnet(interface: "cbr0"), "0", .closes),
        (.bridgeCallsIptables, "1", .closes), (.bridgeCallsIp6tables, "0", .opens),
    ])
    func direction(key: SysctlKey, to value: String, direction: SysctlDirection) {
        #expect(SysctlOperation(key: key, from: nil, to: value).direction == direction)
    }

    @Test func everySettingPodnetMayWriteIsObservable() {
        #expect(SysctlKey.writable(bridge: nil) == SysctlKey.global)
        #expect(SysctlKey.writable(bridge: "cbr0") == SysctlKey.global + [routeLocalnet])
        #expect(routeLocalnet.ofNewLinks.path == "net/ipv4/conf/default/route_localnet")
        #expect(SysctlKey.global.allSatisfy { $0.interface == nil && $0.ofNewLinks == $0 })
    }
}
