import Foundation
import Testing
import PodNet
import PodNetTestSupport

/// A peer's route is a failure domain of its own: the kernel refusing it leaves the
/// rest of the plan applied, and the next apply tries it again.
@Suite(.serialized) struct RouteRefusalKernelTests {
    /// Three peers, the third behind gateways that are not on-link (outside every
    /// connected subnet): its two routes are refused with the kernel's reason and exit
    /// status 3, while the other peers' routes, both families' tables, the bridge and
    /// the sysctls are in place. Once its gateways are on-link, the same config converges.
    @Test(.enabled(if: KernelTest.enabled))
    func offLinkGatewayIsRefusedAloneAndRetried() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let config = try configFile(nodeConfig(peers: 3)
            .replacingOccurrences(of: "[198.18.0.13, \"2001:db8::d\"]", with: "[203.0.113.9, \"2001:db8:99::9\"]"))

        let first = try lab.podnet(["apply", "-f", config])
        #expect(first.status == 3, "\(first.stderr)")
        #expect(first.stderr.contains("error: the kernel refused 2 routes; everything else was applied"), "\(first.stderr)")
        #expect(first.stderr.contains("ip route add 10.244.4.0/24 via 203.0.113.9 proto 111: Nexthop has invalid gateway"),
                "\(first.stderr)")
        #expect(first.stderr.contains("ip route add fd00:10:244:4::/64 via 2001:db8:99::9 proto 111: "), "\(first.stderr)")
        #expect(first.stdout.contains("# routes the kernel refused"), "\(first.stdout)")
        #expect(first.stdout.contains("2 routes refused."), "\(first.stdout)")

        // The other peers' routes stay, in both families; the refused ones are not there.
        let routes = try lab.routesShown(["proto", "111"])
        for expected in ["10.244.2.0/24 via 198.18.0.11", "10.244.3.0/24 via 198.18.0.12",
                         "fd00:10:244:2::/64 via 2001:db8::b", "fd00:10:244:3::/64 via 2001:db8::c"] {
            #expect(routes.contains(expected), "\(routes)")
        }
        #expect(!routes.contains("10.244.4.0/24") && !routes.contains("fd00:10:244:4::/64"), "\(routes)")

        // Everything but the two refused routes is in place: the plan holds nothing else.
        let pending = try lab.podnet(["diff", "-f", config, "--output", "json"])
        #expect(pending.status == 2)
        let plan = try #require(JSONSerialization.jsonObject(with: Data(pending.stdout.utf8)) as? [String: Any])
        for section in ["iptables", "links", "addresses", "sysctls", "pods", "conflicts"] {
            #expect((plan[section] as? [Any])?.isEmpty == true, "\(section): \(pending.stdout)")
        }
        #expect((plan["routes"] as? [[String: Any]])?.compactMap { $0["destination"] as? String }.sorted()
            == ["10.244.4.0/24", "fd00:10:244:4::/64"])

        // The next apply tries them again (still refused): --output json names them too.
        let again = try lab.podnet(["apply", "-f", config, "--output", "json"])
        #expect(again.status == 3, "\(again.stderr)")
        let executed = try #require(JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        let refused = try #require(executed["refusedRoutes"] as? [[String: Any]])
        #expect(refused.compactMap { $0["destination"] as? String } == ["10.244.4.0/24", "fd00:10:244:4::/64"])
        #expect(refused.first?["gateway"] as? String == "203.0.113.9")
        #expect((refused.first?["reason"] as? String)?.hasPrefix("Nexthop has invalid gateway") == true, "\(refused)")
        #expect(refused.first?["errno"] as? Int == Int(ENETUNREACH))
        #expect((executed["routes"] as? [Any])?.isEmpty == true)

        // Fix the peer's side: its gateways become on-link. The same config converges.
        try lab.node.run(["ip", "addr", "add", "203.0.113.1/24", "dev", "eth0"])
        try lab.node.run(["ip", "addr", "add", "2001:db8:99::1/64", "dev", "eth0", "nodad"])
        let fixed = try lab.podnet(["apply", "-f", config])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        // Now on-link, the peer's IPv4 route goes through its nexthop object like the others.
        #expect(fixed.stdout.contains("+ ip nexthop add id \(nexthopID(ofPeer: 4)) via 203.0.113.9 dev eth0 proto 111"),
                "\(fixed.stdout)")
        #expect(fixed.stdout.contains("+ ip route add 10.244.4.0/24 nhid \(nexthopID(ofPeer: 4)) proto 111"), "\(fixed.stdout)")
        #expect(try lab.podnet(["diff", "-f", config]).status == 0)
    }
}

/// A refused route does not loosen the rest: the node's own state stays all or nothing.
@Suite(.serialized) struct RouteRefusalRollbackKernelTests {
    /// A plan with a refused route, an added route and a node pod CIDR moved (its old
    /// gateway address is deleted after the routes): each netlink send failing in turn
    /// (strace fault injection) undoes the whole run, the routes that went in included;
    /// past the last send the run ends with only the refused route left out.
    @Test(.enabled(if: KernelTest.enabled))
    func aNodeStepFailingAfterARefusedRouteStillUndoesEverything() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let before = try configFile(nodeConfig(peers: 2))
        #expect(try lab.podnet(["apply", "-f", before]).status == 0)
        let after = try configFile(nodeConfig(peers: 2, extra: """
              - {name: node-4, nodeIPs: [198.18.0.14], podCIDRs: [10.244.4.0/24]}
              - {name: node-5, nodeIPs: [203.0.113.9], podCIDRs: [10.244.5.0/24]}
            """).replacingOccurrences(of: "podCIDRs: [10.244.1.0/24,", with: "podCIDRs: [10.244.10.0/24,"))
        let rules = try lab.savedRules(), routes = try lab.routes(), links = try lab.links()
        let addresses = try lab.node.run(["ip", "-br", "addr"])

        func apply(failingSend send: Int?) throws -> ProcessResult {
            let trace = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-sends-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: trace) }
            let inject = send.map { ["-e", "inject=sendto:error=EIO:when=\($0)"] } ?? []
            let result = try runProcess("/usr/bin/env", [
                "PODNET_LOCK_DIR=\(lab.lockDirectory)", "XTABLES_LOCKFILE=\(lab.xtablesLock)",
                "strace", "-f", "-qq", "-o", trace, "-e", "trace=sendto"] + inject
                + [PodNetBinary.path, "apply", "-f", after, "--netns", lab.node.name])
            sends = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").count
            return result
        }
        var sends = 0
        // Without a fault: every send goes through, and only the off-link peer's route is left out.
        let clean = try apply(failingSend: nil)
        #expect(clean.status == 3, "\(clean.stderr)")
        #expect(clean.stderr.contains("ip route add 10.244.5.0/24 via 203.0.113.9 proto 111: Nexthop has invalid gateway"),
                "\(clean.stderr)")
        let routesNow = try lab.routesShown(["proto", "111"])
        #expect(routesNow.contains("10.244.4.0/24 via 198.18.0.14") && !routesNow.contains("10.244.5.0/24"), "\(routesNow)")
        let total = sends
        #expect(total > 10, "strace saw \(total) sends")
        #expect(try lab.podnet(["apply", "-f", before]).status == 0)

        var failedAfterTheRoutes = false
        for send in 1...max(total, 1) {
            let result = try apply(failingSend: send)
            if result.status == 3 {
                // A send whose failure is only a warning (the nftables probe): start over.
                #expect(result.stderr.contains("warning: could not check for nftables tables"), "send \(send): \(result.stderr)")
                #expect(try lab.podnet(["apply", "-f", before]).status == 0)
                continue
            }
            #expect(result.status == 1, "send \(send): \(result.stderr)")
            if result.stderr.contains("10.244.1.1/24") { failedAfterTheRoutes = true }
            #expect(try lab.savedRules() == rules, "send \(send): iptables differ after rollback")
            #expect(try lab.routes() == routes, "send \(send): routes differ after rollback: \(result.stderr)")
            #expect(try lab.links() == links, "send \(send): links differ after rollback")
            #expect(try lab.node.run(["ip", "-br", "addr"]) == addresses, "send \(send): addresses differ after rollback")
        }
        #expect(failedAfterTheRoutes, "no run failed at the address delete that follows the routes")
    }
}

/// `teardown` without a config finds podnet's routes in the table it is told.
@Suite(.serialized) struct TeardownRouteTableKernelTests {
    @Test(.enabled(if: KernelTest.enabled))
    func teardownWithoutAConfigRemovesRoutesOfACustomTable() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let config = try configFile(nodeConfig(peers: 2, extra: "routeTable: 100\n"))
        #expect(try lab.podnet(["apply", "-f", config]).status == 0)
        // A foreign route in the same table, and one of podnet's protocol in main.
        try lab.node.run(["ip", "route", "add", "203.0.113.0/24", "via", "198.18.0.1", "table", "100", "proto", "static"])
        try lab.node.run(["ip", "route", "add", "10.244.9.0/24", "via", "198.18.0.1", "proto", "111"])
        func table100() throws -> String {
            try lab.routesShown(["table", "100"])
        }
        #expect(try table100().contains("10.244.2.0/24 via 198.18.0.11"))

        // Without --route-table only main is looked at: its podnet route goes, table 100 stays.
        let main = try lab.podnet(["teardown", "--dry-run"])
        #expect(main.status == 2)
        #expect(main.stdout.contains("- ip route del 10.244.9.0/24 via 198.18.0.1 proto 111"), "\(main.stdout)")
        #expect(!main.stdout.contains("table 100"), "\(main.stdout)")

        let teardown = try lab.podnet(["teardown", "--route-table", "100"])
        #expect(teardown.status == 0, "\(teardown.stderr)")
        #expect(teardown.stdout.contains("- ip route del 10.244.2.0/24 nhid \(nexthopID(ofPeer: 2)) proto 111 table 100"),
                "\(teardown.stdout)")
        #expect(teardown.stdout.contains("- ip nexthop del id \(nexthopID(ofPeer: 2))   # via 198.18.0.11 dev eth0"),
                "\(teardown.stdout)")
        let left = try table100()
        #expect(left.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["203.0.113.0/24 via 198.18.0.1 dev eth0 proto static"], "\(left)")
        #expect(try lab.routesShown(["proto", "111"]).contains("10.244.9.0/24"),
                "main is not podnet's table here, so its route of protocol 111 stays")
        #expect(try lab.podnet(["teardown", "--route-table", "100", "--dry-run"]).status == 0)

        #expect(try lab.podnet(["teardown", "--route-table", "255"]).status == 64)
        #expect(try lab.podnet(["teardown", "--route-table", "0"]).status == 64)
    }
}
