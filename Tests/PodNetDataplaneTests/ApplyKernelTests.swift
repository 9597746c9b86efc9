import Foundation
import Testing
import PodNet
import PodNetDataplane
import PodNetTestSupport

@Suite(.serialized) struct ApplyKernelTests {
    @Test(.enabled(if: KernelTest.enabled))
    func secondApplyChangesNothingAndWritesNothing() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let path = try configFile(nodeConfig(extra: """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: udp, hostPort: 5353, containerPort: 53}
            """))
        let first = try lab.podnet(["apply", "-f", path])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("+ -A PODNET-MASQUERADE"))

        // The second run under strace: no table replace, no netlink write, no sysctl write.
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-strace-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let traced = try runCommand(["env", "PODNET_LOCK_DIR=\(lab.lockDirectory)", "XTABLES_LOCKFILE=\(lab.xtablesLock)",
                                     "strace", "-f", "-qq", "-e", "trace=setsockopt,sendto,sendmsg,openat",
                                     "-o", trace, PodNetBinary.path, "apply", "-f", path, "--netns", lab.node.name])
        #expect(traced == "No changes: the node matches the config.\n")
        let calls = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(!calls.contains("IPT_SO_SET_REPLACE"), "a table was replaced")
        #expect(!calls.contains("IP6T_SO_SET_REPLACE"), "an IPv6 table was replaced")
        // strace prints rtnetlink types by number for a socket made in another namespace.
        let types = calls.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "nlmsg_type=0x") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isHexDigit }, radix: 16)
        }
        // RTM_NEW/DEL/SETLINK, NEW/DELADDR, NEW/DELROUTE, NEW/DELNEXTHOP
        let writes: Set<Int> = [16, 17, 19, 20, 21, 24, 25, 104, 105]
        #expect(types.filter(writes.contains).isEmpty, "netlink writes on a no-op apply: \(types)")
        let sysctlWrites = calls.split(separator: "\n").filter { $0.contains("/proc/sys") && $0.contains("O_WRONLY") }
        #expect(sysctlWrites.isEmpty, "\(sysctlWrites)")
        // strace decoded netlink: the trace must show the route dump it did send, or the check above proves nothing.
        #expect(types.contains(26), "strace did not show the route dump (RTM_GETROUTE): the check above proves nothing")
        #expect(types.contains(106), "strace did not show the nexthop dump (RTM_GETNEXTHOP)")

        let diff = try lab.podnet(["diff", "-f", path])
        #expect(diff.status == 0, "\(diff.stdout)\(diff.stderr)")
    }

    @Test(.enabled(if: KernelTest.enabled))
    func driftIsShownAndRepairedExactly() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let path = try configFile(nodeConfig(peers: 3))
        #expect(try lab.podnet(["apply", "-f", path]).status == 0)

        try lab.node.run(["iptables-legacy", "-t", "nat", "-D", "PODNET-MASQUERADE", "1"])
        try lab.node.run(["ip", "route", "del", "10.244.2.0/24"])
        // A route changed by hand to a classic one, and a peer's nexthop deleted (the
        // kernel deletes its route with it).
        try lab.node.run(["ip", "route", "replace", "10.244.3.0/24", "via", "198.18.0.99", "proto", "111"])
        try lab.node.run(["ip", "nexthop", "del", "id", String(nexthopID(ofPeer: 4))])
        #expect(try !lab.routesShown(["proto", "111"]).contains("10.244.4.0/24"))

        let diff = try lab.podnet(["diff", "-f", path])
        #expect(diff.status == 2)
        let changes = diff.stdout.split(separator: "\n").filter { $0.hasPrefix("+ ") || $0.hasPrefix("- ") || $0.hasPrefix("~ ") }
        #expect(changes == [
            "+ -A PODNET-MASQUERADE -d 10.244.0.0/16 -m comment --comment \"podnet: no SNAT to non-masquerade CIDRs\" -j RETURN",
            "+ ip nexthop add id \(nexthopID(ofPeer: 4)) via 198.18.0.13 dev eth0 proto 111",
            "+ ip route add 10.244.2.0/24 nhid \(nexthopID(ofPeer: 2)) proto 111",
            "- ip route del 10.244.3.0/24 via 198.18.0.99 proto 111",
            "+ ip route replace 10.244.3.0/24 nhid \(nexthopID(ofPeer: 3)) proto 111",
            "+ ip route add 10.244.4.0/24 nhid \(nexthopID(ofPeer: 4)) proto 111",
        ], "\(diff.stdout)")

        let apply = try lab.podnet(["apply", "-f", path, "--output", "json"])
        #expect(apply.status == 0, "\(apply.stderr)")
        let document = try JSONSerialization.jsonObject(with: Data(apply.stdout.utf8)) as! [String: Any]
        #expect((document["iptables"] as! [Any]).count == 1)
        #expect((document["routes"] as! [Any]).count == 3)
        let nexthops = try #require(document["nexthops"] as? [[String: Any]])
        #expect(nexthops.count == 1)
        #expect(nexthops.first?["op"] as? String == "add")
        #expect(nexthops.first?["nexthop"] as? Int == Int(nexthopID(ofPeer: 4)))
        #expect(nexthops.first?["gateway"] as? String == "198.18.0.13")
        #expect(nexthops.first?["interface"] as? String == "eth0")
        #expect(try lab.podnet(["diff", "-f", path]).status == 0)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func foreignStateSurvivesApplyAndTeardown() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        // Other tools' rules, chains, routes and links, in place before podnet comes.
        try lab.node.run(["iptables-legacy", "-t", "nat", "-N", "KUBE-POSTROUTING"])
        try lab.node.run(["iptables-legacy", "-t", "nat", "-A", "POSTROUTING", "-m", "comment", "--comment",
                          "kubernetes postrouting rules", "-j", "KUBE-POSTROUTING"])
        try lab.node.run(["iptables-legacy", "-t", "nat", "-A", "KUBE-POSTROUTING", "-m", "mark", "--mark",
                          "0x4000/0x4000", "-j", "MASQUERADE"])
        try lab.node.run(["iptables-legacy", "-A", "FORWARD", "-s", "192.0.2.0/24", "-j", "DROP"])
        try lab.node.run(["ip6tables-legacy", "-A", "FORWARD", "-s", "2001:db8:ff::/48", "-j", "DROP"])
        try lab.node.run(["ip", "route", "add", "203.0.113.0/24", "via", "198.18.0.1", "proto", "static"])
        try lab.node.run(["ip", "link", "add", "other0", "type", "bridge"])
        try lab.instantiateTables()
        try lab.enableForwarding()
        let rulesBefore = try lab.savedRules(), routesBefore = try lab.routes()

        let path = try configFile(nodeConfig())
        #expect(try lab.podnet(["apply", "-f", path]).status == 0)
        let applied = try lab.savedRules()
        for line in rulesBefore.split(separator: "\n") where line.hasPrefix("-A") {
            #expect(applied.contains(line), "foreign rule lost: \(line)")
        }
        #expect(try lab.routes().contains("203.0.113.0/24 via 198.18.0.1 dev eth0 proto static"))
        #expect(try lab.links().contains("other0"))

        let teardown = try lab.podnet(["teardown"])
        #expect(teardown.status == 0, "\(teardown.stderr)")
        #expect(try lab.savedRules() == rulesBefore)
        let routesAfter = try lab.routes()
        #expect(routesAfter == routesBefore)
        #expect(try lab.links().contains("other0"))
        #expect(!(try lab.links().contains("cbr0")))
        let again = try lab.podnet(["teardown"])
        #expect(again.status == 0 && again.stdout == "No changes: the node matches the config.\n", "\(again.stdout)")
    }

    @Test(.enabled(if: KernelTest.enabled))
    func teardownLeavesWhatANeverWrittenNamespaceHas() throws {
        let lab = try NodeLab(), pristine = try NodeLab()
        defer {
            lab.delete()
            pristine.delete()
        }
        let path = try configFile(nodeConfig(extra: """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}
              - {podIP: "fd00:10:244:1::a", protocol: tcp, hostPort: 8080, containerPort: 80}
            """))
        #expect(try lab.podnet(["apply", "-f", path]).status == 0)
        #expect(try lab.podnet(["teardown", "-f", path]).status == 0)
        // The same tables exist in the pristine namespace, and podnet never wrote there.
        try pristine.instantiateTables()
        try pristine.enableForwarding()
        #expect(try lab.savedRules() == (try pristine.savedRules()))
        let routes = try lab.routes(), pristineRoutes = try pristine.routes()
        #expect(routes == pristineRoutes)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func addingAHostPortChangesOnlyHostPortChainsAndKeepsCounters() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        defer { lab.delete() }
        let base = nodeConfig(extra: """
            pods:
              - {name: client, netns: \(pod.name), ips: [10.244.1.50]}

            """)
        #expect(try lab.podnet(["apply", "-f", try configFile(base)]).status == 0)
        // Make the masquerade rule count: traffic from the pod to the upstream host.
        try pod.run(["ping", "-c", "3", "-i", "0.2", "198.18.0.1"])
        func masqueradeCount() throws -> Int {
            let line = try lab.node.run(["iptables-legacy", "-t", "nat", "-L", "PODNET-MASQUERADE", "-v", "-x", "-n"])
                .split(separator: "\n").first { $0.contains("MASQUERADE") && !$0.contains("Chain") }!
            return Int(line.split(separator: " ")[0])!
        }
        let before = try masqueradeCount()
        #expect(before > 0)

        let withPort = try configFile(base + """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}
            """)
        let diff = try lab.podnet(["diff", "-f", withPort])
        #expect(diff.status == 2)
        for line in diff.stdout.split(separator: "\n") where line.hasPrefix("+ ") || line.hasPrefix("- ") {
            let isHostPort = line.contains("HOSTPORTS") || line.contains("PODNET-HP-") || line.contains("route_localnet")
                || line.contains("127.0.0.0/8") || line.contains("PODNET-INPUT") || line.contains("PODNET-PREROUTING")
                || line.contains("PODNET-OUTPUT") || line.contains("PODNET-HAIRPIN")
            #expect(isHostPort, "a change outside the host-port rules: \(line)")
        }
        // A stream through masquerade (a ping every 10 ms) runs across the apply and loses nothing.
        let stream = Process()
        stream.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        stream.arguments = ["ip", "netns", "exec", pod.name, "ping", "-q", "-c", "200", "-i", "0.01", "198.18.0.1"]
        let output = Pipe()
        stream.standardOutput = output
        try stream.run()
        usleep(500_000)
        let apply = try lab.podnet(["apply", "-f", withPort])
        let streamText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        stream.waitUntilExit()
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(streamText.contains("200 packets transmitted, 200 received"), "\(streamText)")
        #expect(try masqueradeCount() >= before)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func newUDPHostPortClearsTheFlowsThatWouldBypassIt() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let base = nodeConfig()
        #expect(try lab.podnet(["apply", "-f", try configFile(base)]).status == 0)
        // Flows to the node's port 5353 (and 5354) exist before the host port does.
        for port in [5353, 5354] {
            try lab.upstream.run(["bash", "-c", "echo probe > /dev/udp/198.18.0.10/\(port)"])
        }
        func flows(_ port: Int) throws -> Int {
            let listing = try lab.node.run(["conntrack", "-L", "-p", "udp", "--dport", String(port)])
            return listing.split(separator: "\n").filter { $0.contains("dport=\(port)") }.count
        }
        // The node's own flow to port 5353 of another host (its DNS, for a host port 53)
        // never meets the DNAT and must stay.
        try lab.node.run(["conntrack", "-I", "-p", "udp", "-s", "198.18.0.10", "-d", "198.18.0.1", "--sport", "40000",
                          "--dport", "5353", "--timeout", "3600"])
        #expect(try flows(5353) == 2)
        #expect(try flows(5354) == 1)
        let withPort = try configFile(base + """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: udp, hostPort: 5353, containerPort: 53}
            """)
        #expect(try lab.podnet(["apply", "-f", withPort]).status == 0)
        #expect(try flows(5353) == 1, "the old flow to the node would bypass the new DNAT")
        let left = try lab.node.run(["conntrack", "-L", "-p", "udp", "--dport", "5353"])
        #expect(left.contains("src=198.18.0.10 dst=198.18.0.1 sport=40000 dport=5353"), "\(left)")
        #expect(try flows(5354) == 1, "flows of other ports stay")
    }

    /// A node applied without host ports, with a flow from the other host to its UDP
    /// port 5353 (conntrack keeps it un-NATed).
    static func nodeWithAFlowToPort5353() throws -> NodeLab {
        let lab = try NodeLab()
        do {
            #expect(try lab.podnet(["apply", "-f", try configFile(nodeConfig())]).status == 0)
            try lab.upstream.run(["bash", "-c", "echo probe > /dev/udp/198.18.0.10/5353"])
            return lab
        } catch {
            lab.delete()
            throw error
        }
    }

    /// The conntrack flows to the node's UDP port 5353.
    static func flowsToPort5353(_ lab: NodeLab) throws -> String {
        try lab.node.run(["conntrack", "-L", "-p", "udp", "--dport", "5353"])
    }

    /// The apply that adds UDP host port 5353 over `nodeWithAFlowToPort5353`, and its
    /// write deleting the port's old flow, found by the same apply on a node of its own
    /// (strace names no ctnetlink type: NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE).
    static func applyAddingUDPHostPort5353() throws -> (command: [String], flowDelete: KernelWrite) {
        let command = ["apply", "-f", try configFile(nodeConfig() + """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: udp, hostPort: 5353, containerPort: 53}
            """)]
        let counting = try nodeWithAFlowToPort5353()
        defer { counting.delete() }
        let (counted, writes) = try counting.kernelWrites(command)
        #expect(counted.status == 0, "\(counted.stderr)")
        return (command, try #require(writes.first { $0.trace.contains("nlmsg_type=0x102 ") }, "\(writes)"))
    }

    /// podnet killed after the nat commit that adds a UDP host port, as it asks the
    /// kernel to delete the port's old flows: the next apply finds the rule in place
    /// and nothing to change, and still clears the flow that bypasses the DNAT.
    @Test(.enabled(if: KernelTest.enabled))
    func udpFlowsLeftByAKillAfterTheNatCommitAreClearedByTheNextApply() throws {
        let lab = try Self.nodeWithAFlowToPort5353()
        defer { lab.delete() }
        func flows() throws -> String { try Self.flowsToPort5353(lab) }
        #expect(try flows().contains("dst=198.18.0.10"))
        let (command, delete) = try Self.applyAddingUDPHostPort5353()

        let killed = try lab.podnet(command, fault: .killed, at: delete)
        #expect(killed.killedBy == SIGKILL, "\(killed.stderr)")
        let nat = try lab.node.run(["iptables-legacy-save", "-t", "nat"])
        #expect(nat.contains("--dport 5353"), "the kill came after the nat commit: \(nat)")
        #expect(try flows().contains("dst=198.18.0.10"), "the kill came before the flow's delete")

        #expect(try lab.podnet(command).status == 0)
        let left = try flows()
        #expect(!left.contains("dst=198.18.0.10 sport"), "the old flow would bypass the DNAT: \(left)")
        // A flow begun since goes to the pod, and stays through the next apply.
        try lab.upstream.run(["bash", "-c", "echo probe > /dev/udp/198.18.0.10/5353"])
        let dnated = try flows()
        #expect(dnated.contains("src=10.244.1.10"), "\(dnated)")
        #expect(try lab.podnet(command).status == 0)
        #expect(try flows().contains("src=10.244.1.10"), "a DNATed flow is no stale one")
    }

    /// The sweep at every apply deletes only the flows a host port's jump could have
    /// DNATed and did not send to the mapping's pod: un-NATed to a local address
    /// (127.0.0.1 included, which route_localnet lets the OUTPUT jump DNAT) or DNATed to
    /// another pod of the node. The node's own [::1]:5353 (the IPv6 jumps leave ::1
    /// out), flows to a host IP that is no local address (the jump never sees them) and
    /// flows another program's DNAT sent off the node stay.
    @Test(.enabled(if: KernelTest.enabled))
    func theSweepLeavesFlowsNoHostPortCouldHaveDNATed() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let path = try configFile(nodeConfig(extra: """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: udp, hostPort: 5353, containerPort: 53}
              - {podIP: "fd00:10:244:1::a", protocol: udp, hostPort: 5353, containerPort: 53}
              - {podIP: 10.244.1.11, protocol: udp, hostPort: 5355, containerPort: 53, hostIP: 198.18.0.1}
            """))
        let first = try lab.podnet(["apply", "-f", path])
        #expect(first.status == 0, "\(first.stderr)")
        // Source, destination, their ports, and where the replies come from.
        let flows: [(source: String, destination: String, port: String, dport: String,
                     reply: String, replyPort: String)] = [
            ("::1", "::1", "40001", "5353", "::1", "5353"),
            ("198.18.0.10", "198.18.0.1", "40002", "5355", "198.18.0.1", "5355"),
            ("198.18.0.1", "198.18.0.10", "40003", "5353", "192.0.2.7", "53"),
            ("198.18.0.1", "198.18.0.10", "40004", "5353", "10.244.1.99", "53"),
            ("198.18.0.1", "198.18.0.10", "40005", "5353", "10.244.1.10", "53"),
            ("127.0.0.1", "127.0.0.1", "40006", "5353", "127.0.0.1", "5353"),
        ]
        for flow in flows {
            try lab.node.run(["conntrack", "-I", "-p", "udp", "-s", flow.source, "-d", flow.destination,
                              "--sport", flow.port, "--dport", flow.dport, "--reply-src", flow.reply,
                              "--reply-dst", flow.source, "--reply-port-src", flow.replyPort,
                              "--reply-port-dst", flow.port, "--timeout", "3600"])
        }
        func tracked() throws -> String {
            try lab.node.run(["conntrack", "-L", "-p", "udp"]) + (try lab.node.run(["conntrack", "-L", "-f", "ipv6", "-p", "udp"]))
        }
        let before = try tracked()
        for flow in flows { #expect(before.contains("sport=\(flow.port) "), "\(before)") }
        let again = try lab.podnet(["apply", "-f", path])
        #expect(again.status == 0, "\(again.stderr)")
        let after = try tracked()
        #expect(after.contains("sport=40001 "), "the node's own [::1]:5353 is no host port: \(after)")
        #expect(after.contains("sport=40002 "), "198.18.0.1 is no local address, its flows meet no DNAT: \(after)")
        #expect(after.contains("sport=40003 "), "a flow another rule DNATed off the node is not podnet's: \(after)")
        #expect(!after.contains("sport=40004 "), "a flow DNATed to a former mapping's pod bypasses the mapping: \(after)")
        #expect(after.contains("sport=40005 "), "a flow DNATed to the mapping's pod meets it: \(after)")
        #expect(!after.contains("sport=40006 "), "127.0.0.1:5353 is DNATed to the pod (route_localnet): \(after)")
    }

    /// The sweep's delete refused: the apply has put tables, routes and pods in place,
    /// and says the flows stay; it succeeds, and the next apply clears them.
    @Test(.enabled(if: KernelTest.enabled))
    func aRefusedSweepIsAWarningAndTheNextApplyClearsTheFlows() throws {
        let lab = try Self.nodeWithAFlowToPort5353()
        defer { lab.delete() }
        func flows() throws -> String { try Self.flowsToPort5353(lab) }
        let (command, delete) = try Self.applyAddingUDPHostPort5353()

        let refused = try lab.podnet(command, fault: .refused, at: delete)
        #expect(refused.status == 0, "\(refused.stderr)")
        #expect(refused.stderr.contains("warning: ipv4 UDP host ports 5353: their old conntrack flows"), "\(refused.stderr)")
        #expect(refused.stderr.contains("Operation not permitted"), "\(refused.stderr)")
        #expect(try lab.node.run(["iptables-legacy-save", "-t", "nat"]).contains("--dport 5353"), "the table stays")
        #expect(try flows().contains("dst=198.18.0.10"))
        let next = try lab.podnet(command)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(!next.stderr.contains("warning"), "\(next.stderr)")
        let left = try flows()
        #expect(!left.contains("dst=198.18.0.10 sport"), "\(left)")
    }

    @Test(.enabled(if: KernelTest.enabled))
    func nftablesTablesInTheNamespaceAreWarnedAbout() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let path = try configFile(nodeConfig())
        let quiet = try lab.podnet(["diff", "-f", path])
        #expect(!quiet.stderr.contains("nftables"), "\(quiet.stderr)")
        try lab.node.run(["iptables-nft", "-A", "FORWARD", "-j", "ACCEPT"])
        let warned = try lab.podnet(["diff", "-f", path])
        #expect(warned.status == 2)
        #expect(warned.stderr.contains("warning: this network namespace also holds nftables tables (ip filter)"), "\(warned.stderr)")
    }

    /// IPv6 forwarding makes the kernel ignore router advertisements where accept_ra=1:
    /// the node's default route learned from them would expire, so diff and apply say so.
    @Test(.enabled(if: KernelTest.enabled))
    func turningOnIPv6ForwardingWarnsAboutInterfacesLearningFromRouterAdvertisements() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        try lab.node.run(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=0", "net.ipv6.conf.eth0.accept_ra=1"])
        // What the kernel installs from a router advertisement: a default route of protocol ra.
        try lab.node.run(["ip", "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0", "proto", "ra"])
        let expected = "warning: turning on net.ipv6.conf.all.forwarding makes the kernel ignore router advertisements on eth0"
        // An IPv4-only node does not turn IPv6 forwarding on: nothing to warn about.
        let ipv4Only = try configFile(nodeConfig().replacingOccurrences(of: #", "fd00:10:244:1::/64""#, with: ""))
        let quiet = try lab.podnet(["diff", "-f", ipv4Only])
        #expect(quiet.status == 2)
        #expect(!quiet.stderr.contains("router advertisements"), "\(quiet.stderr)")

        let path = try configFile(nodeConfig())
        let diff = try lab.podnet(["diff", "-f", path])
        #expect(diff.status == 2)
        #expect(diff.stderr.contains(expected), "\(diff.stderr)")
        let apply = try lab.podnet(["apply", "-f", path])
        #expect(apply.status == 0)
        #expect(apply.stderr.contains(expected), "\(apply.stderr)")
        // Forwarding is on now: nothing more changes, nothing to warn about.
        let after = try lab.podnet(["diff", "-f", path])
        #expect(!after.stderr.contains("router advertisements"), "\(after.stderr)")
    }
}
