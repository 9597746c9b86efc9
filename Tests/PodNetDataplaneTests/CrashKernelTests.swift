import Foundation
import Testing
import PodNet
import PodNetTestSupport

/// podnet killed (SIGKILL, by strace) at each of its kernel writes in turn: whatever
/// the kill left, a plain apply converges (diff then finds nothing to do) and teardown
/// leaves no rule, route or link of podnet's. A link podnet had created and not yet
/// marked would fail both: the next apply on EEXIST, teardown by not recognising it.
@Suite(.serialized) struct CrashKernelTests {
    enum Scenario: String, CaseIterable, CustomTestStringConvertible {
        case applyFromEmpty = "apply from empty"
        case applyOverApplied = "apply of a changed config over an applied one"
        case renameBridge = "apply of a new bridge.name over an applied config"
        case teardown = "teardown"

        var testDescription: String { rawValue }
    }

    @Test(.enabled(if: KernelTest.enabled), arguments: Scenario.allCases)
    func killedAtEveryKernelWriteTheNextApplyConvergesAndTeardownLeavesNothing(_ scenario: Scenario) throws {
        // The writes are counted in a run of their own, from the same start state.
        let counting = try CrashNode(scenario)
        let (result, writes) = try counting.lab.kernelWrites(counting.killedCommand)
        counting.delete()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(writes.count >= 10, "the scenario should make many kernel writes: \(writes)")
        // Netlink requests and iptables commits, and /proc/sys writes when sysctls change
        // (from empty; the changed config keeps them, teardown leaves them).
        let calls: Set<KernelWrite.Call> = scenario == .applyFromEmpty ? [.sendto, .setsockopt, .write] : [.sendto, .setsockopt]
        #expect(Set(writes.map(\.call)).isSuperset(of: calls), "\(writes)")

        var converged = 0
        for write in writes {
            let node = try CrashNode(scenario)
            defer { node.delete() }
            let killed = try node.lab.podnet(node.killedCommand, fault: .killed, at: write)
            guard killed.killedBy == SIGKILL else {
                Issue.record("not killed at \(write): exit \(killed.status)\n\(killed.stderr)")
                continue
            }
            let apply = try node.lab.podnet(["apply", "-f", node.convergedConfig])
            let diff = try node.lab.podnet(["diff", "-f", node.convergedConfig])
            let teardown = try node.lab.podnet(["teardown", "-f", node.convergedConfig])
            let leftovers = try node.lab.podnetLeftovers() + node.podLinks()
            if apply.status == 0, diff.status == 0, teardown.status == 0, leftovers.isEmpty {
                converged += 1
            } else {
                Issue.record("""
                    killed at \(write):
                    apply exited \(apply.status): \(apply.stderr)
                    diff exited \(diff.status): \(diff.stdout)\(diff.stderr)
                    teardown exited \(teardown.status): \(teardown.stderr)
                    left behind: \(leftovers)
                    """)
            }
        }
        print("kill campaign, \(scenario.rawValue): \(converged)/\(writes.count) kernel writes converged and tore down clean")
        #expect(converged == writes.count)
    }

    /// Half-made links (a pod's host end with its peer in the pod, a bridge) are shown
    /// by diff and deleted by teardown; links that only look like them are not podnet's.
    @Test(.enabled(if: KernelTest.enabled))
    func halfMadeLinksAreShownAndTornDownAndLookalikesAreLeftAlone() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        defer { lab.delete() }
        let hostEnd = UnfinishedLink.temporaryName(for: "veth00000001"), bridge = UnfinishedLink.temporaryName(for: "cbr0")
        try lab.node.run(["ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", pod.name])
        try lab.node.run(["ip", "link", "add", bridge, "type", "bridge"])
        // Someone else's: marked with an alias, of a kind podnet does not make, or named otherwise.
        let marked = UnfinishedLink.temporaryName(for: "other0"), ifb = UnfinishedLink.temporaryName(for: "other1")
        try lab.node.run(["ip", "link", "add", marked, "type", "bridge"])
        try lab.node.run(["ip", "link", "set", marked, "alias", "not podnet's"])
        try lab.node.run(["ip", "link", "add", ifb, "type", "ifb"])
        try lab.node.run(["ip", "link", "add", "podnet-123", "type", "bridge"])

        let plan = try lab.podnet(["teardown", "--dry-run"])
        #expect(plan.status == 2)
        let removals = plan.stdout.split(separator: "\n").filter { $0.hasPrefix("- ") }
        #expect(Set(removals) == Set([hostEnd, bridge].map { "- ip link del \($0)   # left half-made by an interrupted podnet run" }),
                "\(plan.stdout)")
        #expect(try lab.podnet(["teardown"]).status == 0)
        #expect(try lab.podnetLeftovers().sorted() == ["link: \(ifb)", "link: \(marked)", "link: podnet-123"].sorted())
        #expect(try pod.run(["ip", "-br", "link"]).split(separator: "\n").map { $0.prefix(3) } == ["lo "], "the host end took eth0")
        #expect(try lab.podnet(["teardown", "--dry-run"]).status == 0)
    }
}

/// A node (NodeLab) and two pods' namespaces, in the start state of a scenario.
private final class CrashNode {
    let lab: NodeLab
    let web: TestNamespace, db: TestNamespace
    /// Bridge, pod web, dual-stack host ports and two peers.
    let first: String
    /// The same node changed everywhere: bridge MTU (so web is remade, with new
    /// addresses too), a second pod, other host ports, one peer gone, one whose node
    /// IPs changed and a new one.
    let second: String
    /// The first config with the bridge under another name: web moves to the new
    /// bridge and the old one goes.
    let renamed: String
    let scenario: CrashKernelTests.Scenario

    init(_ scenario: CrashKernelTests.Scenario) throws {
        self.scenario = scenario
        lab = try NodeLab()
        web = try TestNamespace(prefix: "pnweb")
        db = try TestNamespace(prefix: "pndb")
        let firstNode = """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}
              - {podIP: "fd00:10:244:1::a", protocol: udp, hostPort: 5353, containerPort: 53}
            pods:
              - {name: web, netns: \(web.name), ips: [10.244.1.10, "fd00:10:244:1::a"]}
            """
        first = try configFile(Self.config(peers: [2, 3], extra: firstNode))
        renamed = try configFile(Self.config(peers: [2, 3], extra: "bridge: {name: cbr1}\n" + firstNode))
        second = try configFile(Self.config(peers: [3, 4], movedPeer: 3, extra: """
            bridge: {mtu: 1400}
            hostPorts:
              - {podIP: 10.244.1.20, protocol: tcp, hostPort: 8081, containerPort: 80}
              - {podIP: "fd00:10:244:1::14", protocol: tcp, hostPort: 8443, containerPort: 443}
            pods:
              - {name: web, netns: \(web.name), ips: [10.244.1.20, "fd00:10:244:1::14"]}
              - {name: db, netns: \(db.name), ips: [10.244.1.30, "fd00:10:244:1::1e"]}
            """))
        if scenario != .applyFromEmpty {
            let applied = try lab.podnet(["apply", "-f", first])
            try #require(applied.status == 0, "\(applied.stderr)")
        }
    }

    var killedCommand: [String] {
        switch scenario {
        case .applyFromEmpty: ["apply", "-f", first]
        case .applyOverApplied: ["apply", "-f", second]
        case .renameBridge: ["apply", "-f", renamed]
        case .teardown: ["teardown", "-f", first]
        }
    }

    /// The config the node is applied to after the kill.
    var convergedConfig: String {
        switch scenario {
        case .applyOverApplied: second
        case .renameBridge: renamed
        case .applyFromEmpty, .teardown: first
        }
    }

    /// Links left in the pods' namespaces but their loopback.
    func podLinks() throws -> [String] {
        try [web, db].flatMap { pod in
            try pod.run(["ip", "-br", "link"]).split(separator: "\n").filter { !$0.hasPrefix("lo ") }
                .map { "link in \(pod.name): \($0)" }
        }
    }

    func delete() {
        lab.delete()
        web.delete()
        db.delete()
    }

    /// A dual-stack node whose peers are node-N with pod CIDRs 10.244.N.0/24 and node
    /// IPs 198.18.0.(10+N) on the lab's underlay (or .(20+N) for `movedPeer`).
    static func config(peers: [Int], movedPeer: Int? = nil, extra: String) -> String {
        var text = labNode + "peers:\n"
        for peer in peers {
            let host = (peer == movedPeer ? 20 : 10) + peer
            text += """
                  - name: node-\(peer)
                    nodeIPs: [198.18.0.\(host), "2001:db8::\(host)"]
                    podCIDRs: [10.244.\(peer).0/24, "fd00:10:244:\(peer)::/64"]

                """
        }
        return text + extra + "\n"
    }
}
