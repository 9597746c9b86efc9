import Foundation
import Testing
import PodNet
import PodNetTestSupport

/// route_localnet on podnet's bridge and the 127.0.0.0/8 guard rule (CVE-2020-8558),
/// and the order apply writes sysctls, tables and pods in.
@Suite(.serialized) struct LocalnetKernelTests {
    static let ipv4HostPort = """
        hostPorts:
          - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}

        """
    static let ipv6HostPort = """
        hostPorts:
          - {podIP: "fd00:10:244:1::a", protocol: tcp, hostPort: 8080, containerPort: 80}

        """
    static let guardRule = "-d 127.0.0.0/8"

    /// The reported case: apply with an IPv4 host port, then without. diff shows
    /// route_localnet going off (it said "No changes"), and apply leaves the node as
    /// applying the second config alone does.
    @Test(.enabled(if: KernelTest.enabled))
    func removingTheLastIPv4HostPortTurnsRouteLocalnetOff() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let with = try configFile(nodeConfig(extra: Self.ipv4HostPort)), without = try configFile(nodeConfig())
        #expect(try lab.podnet(["apply", "-f", with]).status == 0)
        #expect(try lab.routeLocalnet() == "1")
        #expect(try lab.savedRules().contains(Self.guardRule))

        let diff = try lab.podnet(["diff", "-f", without])
        #expect(diff.status == 2, "\(diff.stdout)\(diff.stderr)")
        #expect(diff.stdout.contains("~ sysctl -w net.ipv4.conf.cbr0.route_localnet=0   # was 1\n"), "\(diff.stdout)")
        let apply = try lab.podnet(["apply", "-f", without])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(try lab.routeLocalnet() == "0")
        #expect(!(try lab.savedRules().contains(Self.guardRule)))
        #expect(try lab.podnet(["diff", "-f", without]).status == 0)
    }

    /// apply(A) then apply(B) ends where apply(B) alone does: tables, routes, the
    /// bridge's route_localnet and every global sysctl B wants (those B does not want
    /// stay as A left them: podnet leaves forwarding on), and diff of B finds nothing.
    @Test(.enabled(if: KernelTest.enabled), arguments: [
        (ipv4HostPort, ""),
        ("", ipv4HostPort),
        (ipv4HostPort, ipv6HostPort),
        (ipv6HostPort, ipv4HostPort),
        (ipv4HostPort + "masquerade: false\n", "forwardAccept: false\n"),
    ])
    func applyingAThenBEndsWhereBAloneDoes(a: String, b: String) throws {
        let ab = try NodeLab(), bAlone = try NodeLab()
        defer {
            ab.delete()
            bAlone.delete()
        }
        let first = try configFile(nodeConfig(peers: 3, extra: a)), second = try configFile(nodeConfig(peers: 2, extra: b))
        #expect(try ab.podnet(["apply", "-f", first]).status == 0)
        #expect(try ab.podnet(["apply", "-f", second]).status == 0)
        #expect(try bAlone.podnet(["apply", "-f", second]).status == 0)
        #expect(try ab.savedRules() == (try bAlone.savedRules()))
        #expect(try ab.routes() == (try bAlone.routes()))
        for key in ["net.ipv4.conf.cbr0.route_localnet", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"] {
            #expect(try ab.node.run(["sysctl", "-n", key]) == (try bAlone.node.run(["sysctl", "-n", key])), "\(key)")
        }
        let diff = try ab.podnet(["diff", "-f", second])
        #expect(diff.status == 0, "\(diff.stdout)")
    }

    /// The order on the kernel, from strace: the guard rule is committed before
    /// route_localnet goes on, forwarding goes on after every table commit (masquerade
    /// and forward-accept in place), and the pod's veth is made after all of them;
    /// without host ports, route_localnet goes off before the commit removing the guard.
    @Test(.enabled(if: KernelTest.enabled))
    func pathsOpenAfterTheirGuardsAndCloseBeforeThem() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        defer { lab.delete() }
        let pods = """
            pods:
              - {name: client, netns: \(pod.name), ips: [10.244.1.50]}

            """
        let trace = try lab.tracedApply(try configFile(nodeConfig(extra: Self.ipv4HostPort + pods)))
        let commits = trace.positions { $0.contains("_SO_SET_REPLACE") }
        let ipv4FilterCommit = try #require(trace.positions { $0.contains("IPT_SO_SET_REPLACE, \"filter") }.first)
        #expect(commits.count == 4, "both families' filter and nat tables: \(commits)")
        let routeLocalnet = try #require(trace.sysctlWrite("net/ipv4/conf/cbr0/route_localnet"))
        let ipv4Forwarding = try #require(trace.sysctlWrite("net/ipv4/ip_forward"))
        let ipv6Forwarding = try #require(trace.sysctlWrite("net/ipv6/conf/all/forwarding"))
        // RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL (strace decodes neither for a socket of
        // another namespace): the bridge first, then the pod's veth pair.
        let creates = trace.positions { line in
            (line.contains("nlmsg_type=0x10 ") || line.contains("RTM_NEWLINK"))
                && (line.contains("0x600") || line.contains("NLM_F_CREATE"))
        }
        #expect(creates.count >= 2, "\(creates)")
        let podCreated = try #require(creates.dropFirst().first)
        #expect(ipv4FilterCommit < routeLocalnet, "the guard rule is in before route_localnet goes on")
        #expect(commits.allSatisfy { $0 < ipv4Forwarding && $0 < ipv6Forwarding }, "tables before forwarding")
        #expect([routeLocalnet, ipv4Forwarding, ipv6Forwarding].allSatisfy { $0 < podCreated }, "sysctls before the pod")
        #expect(commits.allSatisfy { $0 < podCreated }, "tables before the pod")

        let closing = try lab.tracedApply(try configFile(nodeConfig(extra: pods)))
        let turnedOff = try #require(closing.sysctlWrite("net/ipv4/conf/cbr0/route_localnet"))
        let guardRemoved = try #require(closing.positions { $0.contains("IPT_SO_SET_REPLACE, \"filter") }.first)
        #expect(turnedOff < guardRemoved, "route_localnet is off before the guard rule goes")
        #expect(try lab.routeLocalnet() == "0")
        #expect(!(try lab.savedRules().contains(Self.guardRule)))
    }

    /// A bridge not made yet starts with the namespace's default conf: a default of 1
    /// is corrected (and diff says so), a default of 0 needs no write at all.
    @Test(.enabled(if: KernelTest.enabled))
    func aNewBridgeIsJudgedByTheDefaultConf() throws {
        let open = try NodeLab(), closed = try NodeLab()
        defer {
            open.delete()
            closed.delete()
        }
        let path = try configFile(nodeConfig())
        try open.node.run(["sysctl", "-q", "-w", "net.ipv4.conf.default.route_localnet=1"])
        let diff = try open.podnet(["diff", "-f", path])
        #expect(diff.stdout.contains("~ sysctl -w net.ipv4.conf.cbr0.route_localnet=0   # was 1\n"), "\(diff.stdout)")
        #expect(try open.podnet(["apply", "-f", path]).status == 0)
        #expect(try open.routeLocalnet() == "0")
        #expect(try open.podnet(["diff", "-f", path]).status == 0)

        let untouched = try closed.tracedApply(path)
        #expect(untouched.sysctlWrite("net/ipv4/conf/cbr0/route_localnet") == nil, "a default of 0 needs no write")
        #expect(untouched.sysctlWrite("net/ipv4/ip_forward") != nil, "the trace shows sysctl writes, or the check proves nothing")
        #expect(try closed.routeLocalnet() == "0")
    }

    /// Teardown turns route_localnet off before it removes the guard rule (the bridge
    /// goes last, with its pods' traffic still flowing until then).
    @Test(.enabled(if: KernelTest.enabled))
    func teardownClosesRouteLocalnetBeforeTheGuardGoes() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let path = try configFile(nodeConfig(extra: Self.ipv4HostPort))
        #expect(try lab.podnet(["apply", "-f", path]).status == 0)
        let dryRun = try lab.podnet(["teardown", "--dry-run"])
        #expect(dryRun.stdout.contains("~ sysctl -w net.ipv4.conf.cbr0.route_localnet=0   # was 1\n"), "\(dryRun.stdout)")
        let trace = try lab.traced(["teardown"])
        let turnedOff = try #require(trace.sysctlWrite("net/ipv4/conf/cbr0/route_localnet"))
        let guardRemoved = try #require(trace.positions { $0.contains("IPT_SO_SET_REPLACE, \"filter") }.first)
        #expect(turnedOff < guardRemoved)
        #expect(trace.sysctlWrite("net/ipv4/ip_forward") == nil, "forwarding stays as it is")
        #expect(!(try lab.links().contains("cbr0")))
    }
}

extension NodeLab {
    func routeLocalnet() throws -> String {
        try node.run(["sysctl", "-n", "net.ipv4.conf.cbr0.route_localnet"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `podnet apply -f path` under strace: its table commits, netlink sends and file opens, in order.
    func tracedApply(_ path: String) throws -> [String] {
        try traced(["apply", "-f", path])
    }

    func traced(_ arguments: [String]) throws -> [String] {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-strace-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let result = try runProcess("/usr/bin/env", [
            "PODNET_LOCK_DIR=\(lockDirectory)", "XTABLES_LOCKFILE=\(xtablesLock)",
            "strace", "-f", "-qq", "-e", "trace=setsockopt,sendto,sendmsg,openat", "-o", trace,
            PodNetBinary.path] + arguments + ["--netns", node.name])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        return try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}

extension [String] {
    func positions(where predicate: (String) -> Bool) -> [Int] {
        enumerated().filter { predicate($0.element) }.map(\.offset)
    }

    /// The line opening /proc/sys/`path` for writing.
    func sysctlWrite(_ path: String) -> Int? {
        firstIndex { $0.contains("\"/proc/sys/\(path)\"") && $0.contains("O_WRONLY") }
    }
}
