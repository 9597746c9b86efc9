import Foundation
import Testing
import PodNet
import PodNetCompiler

/// The dry-run text for (config, observed node) pairs, against rules/diff/NAME.diff.
@Suite struct DiffGoldenTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var fixture: String
        /// Turns the node as podnet would have left it for `observedFixture` into the observed state.
        var observedFixture: String?
        var drift: @Sendable (inout ObservedNode) -> Void
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "empty-node", fixture: "dual-stack", observedFixture: nil) { _ in },
        Case(name: "matching-node", fixture: "dual-stack", observedFixture: "dual-stack") { _ in },
        Case(name: "drift", fixture: "one-peer", observedFixture: "one-peer") { node in
            // A rule deleted by hand, a podnet chain left from an older version, a route
            // changed by hand to a classic one, a stale route, a stale nexthop and the
            // one a peer's node IP moved from, forwarding turned off, the bridge MTU changed.
            let nat = node.tables.firstIndex { $0.id == TableID(.ipv4, .nat) }!
            let masquerade = node.tables[nat].chains.firstIndex { $0.name == "PODNET-MASQUERADE" }!
            node.tables[nat].chains[masquerade].rules.remove(at: 0)
            node.tables[nat].chains.append(Chain(name: "PODNET-OLD", rules: [Rule(target: .returnFromChain)]))
            node.routes.owned[0].via = .gateway(IPAddress("198.18.0.99")!)
            node.routes.owned.append(RouteState(destination: try! IPNetwork(parsing: "10.244.9.0/24"),
                                                via: .nexthop(id: 77), table: 254, proto: 111))
            node.routes.nexthops[0].gateway = IPAddress("198.18.0.98")!
            node.routes.nexthops.append(NexthopState(id: 77, gateway: IPAddress("198.18.0.19")!,
                                                     link: uplink, proto: 111))
            node.sysctls[.ipv4Forwarding] = "0"
            node.bridge?.mtu = 9000
        },
        Case(name: "foreign-nexthop-id", fixture: "one-peer", observedFixture: nil) { node in
            // Another program's nexthop holds the id podnet derives for the peer: podnet takes the next.
            let id = NexthopIDs.derived(NexthopOwner(peer: "node-b", family: .ipv4))
            node.routes.foreignNexthopIDs = [id]
        },
        Case(name: "without-nexthop-objects", fixture: "one-peer", observedFixture: nil) { node in
            // A kernel before 5.3: classic routes.
            node.routes.nexthopsSupported = false
        },
        Case(name: "gateway-not-on-link", fixture: "one-peer", observedFixture: nil) { node in
            // No link holds the peer's node IP: its route stays classic, for the kernel to judge.
            node.routes.onLinkPrefixes = []
        },
        Case(name: "foreign-conflicts", fixture: "one-peer", observedFixture: nil) { node in
            node.routes.foreign = [ObservedRoute(destination: try! IPNetwork(parsing: "10.244.2.0/24"),
                                                 gateway: IPAddress("198.18.0.50")!, table: 254, proto: 4)]
            node.bridge = ObservedBridge(name: "cbr0", isBridge: true, ownedByPodnet: false, mtu: 1500,
                                        macAddress: MACAddress(bytes: [2, 0, 0, 0, 0, 1]), promiscuous: false,
                                        up: true, ports: [])
        },
        Case(name: "host-port-added", fixture: "host-ports", observedFixture: "no-peers") { _ in },
        Case(name: "peers-removed", fixture: "one-peer", observedFixture: "many-peers") { _ in },
    ]

    @Test(arguments: cases)
    func dryRunTextMatchesGoldenFile(_ testCase: Case) throws {
        let desired = try Fixtures.state(testCase.fixture)
        var observed = try testCase.observedFixture.map { Self.applied(try Fixtures.state($0)) }
            ?? ObservedNode(routes: ObservedRoutes(onLinkPrefixes: Self.onLink), automaticMTU: 1500)
        testCase.drift(&observed)
        let plan = NodeDiff.plan(desired: desired, observed: observed)
        let text = PlanText.render(plan, bridge: desired.bridge)
        try GoldenFile.check(text, against: Fixtures.rules.appendingPathComponent("diff/\(testCase.name).diff"),
                             label: "rules/diff/\(testCase.name).diff")
    }

    /// The node's uplink, on which the fixtures' node IPs are.
    static let uplink = LinkReference(index: 2, name: "eth0")
    static let onLink = [OnLinkPrefix(prefix: try! IPNetwork(parsing: "198.18.0.0/15"), link: uplink),
                         OnLinkPrefix(prefix: try! IPNetwork(parsing: "2001:db8::/32"), link: uplink)]

    /// The node as apply leaves it for `state`: every table, link, address, sysctl,
    /// route, nexthop and pod in place, jumps where their placement puts them.
    static func applied(_ state: DesiredState) -> ObservedNode {
        let tables = state.tables.map { table in
            var counts: [BuiltinChain: Int] = [:]
            let jumps = table.jumps.map { jump in
                defer { counts[jump.builtinChain, default: 0] += 1 }
                return ObservedJump(builtinChain: jump.builtinChain, index: counts[jump.builtinChain, default: 0], rule: jump.rule)
            }
            return ObservedTable(id: table.id, chains: table.chains, jumps: jumps, builtinRuleCounts: counts)
        }
        let mtu: Int
        if case .fixed(let value) = state.bridge?.mtu { mtu = value } else { mtu = 1500 }
        let bridge = state.bridge.map { bridge in
            ObservedBridge(name: bridge.name, isBridge: true, ownedByPodnet: true, mtu: mtu, macAddress: bridge.macAddress,
                           promiscuous: bridge.promiscuous, up: true,
                           ports: state.pods.map { BridgePort(name: $0.hostInterface, hairpin: bridge.hairpinPorts) })
        }
        return ObservedNode(tables: tables, bridge: bridge, bridgeAddresses: state.addresses,
                            sysctls: Dictionary(uniqueKeysWithValues: state.sysctls.map { ($0.key, $0.value) }),
                            routes: ObservedRoutes(owned: state.routes, nexthops: state.nexthops.map { nexthop in
                                NexthopState(id: nexthop.id, gateway: nexthop.gateway, link: uplink, proto: nexthop.proto)
                            }, onLinkPrefixes: onLink),
                            pods: state.pods.map { ObservedPod(name: $0.name, hostInterface: $0.hostInterface, specDigest: $0.specDigest) },
                            automaticMTU: 1500)
    }
}
