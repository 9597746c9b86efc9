import Foundation
import Testing
import PodNet
import PodNetTestSupport

/// NetworkPolicy on the real kernel: three pods podnet attaches on one node (their
/// traffic bridged), a host beyond the node (routed), echo servers, and `--cluster`
/// Lists that change policy and labels.
@Suite(.serialized) struct NetworkPolicyKernelTests {
    static let echo = Fixtures.root + "/Tests/e2e/echo.py"

    /// A pod namespace's echo server on `port` (TCP), until `stop`.
    /// It logs the source address of every connection and datagram that reached it.
    final class Server {
        let process = Process()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("pnnp-log-\(UUID())").path
        init(in namespace: TestNamespace, name: String, port: Int) throws {
            let ready = FileManager.default.temporaryDirectory.appendingPathComponent("pnnp-ready-\(UUID())").path
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["ip", "netns", "exec", namespace.name, "python3", NetworkPolicyKernelTests.echo,
                                 "serve", name, String(port), ready]
            FileManager.default.createFile(atPath: log, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: log)
            process.standardError = FileHandle.nullDevice
            try process.run()
            for _ in 0..<100 where !FileManager.default.fileExists(atPath: ready) { usleep(50_000) }
        }
        /// SIGKILL: echo.py's main thread waits on its server threads and never sees SIGTERM.
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: log)
        }

        /// Whether a datagram from `source` reached it (give it a moment to log).
        func heard(_ source: String) -> Bool {
            usleep(300_000)
            return ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains(source)
        }
    }

    /// One UDP datagram from `namespace`, sent from `source`.
    static func sendUDP(_ namespace: TestNamespace, to address: String, _ port: Int, from source: String) {
        let script = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('\(source)', 0))
            s.sendto(b'hi\\n', ('\(address)', \(port)))
            """
        _ = try? runProcess("/usr/bin/env", ["ip", "netns", "exec", namespace.name, "python3", "-c", script])
    }

    /// Whether a TCP connection from `namespace` (from `source` when given) to
    /// `address`:`port` gets its answer within a second.
    static func reaches(_ namespace: TestNamespace, _ address: String, _ port: Int, from source: String? = nil) -> Bool {
        let bind = source.map { "('\($0)', 0)" } ?? "None"
        let script = """
            import socket, sys
            try:
                s = socket.create_connection(('\(address)', \(port)), 1, \(bind))
                s.sendall(b'hi\\n'); sys.exit(0 if s.recv(100) else 1)
            except OSError:
                sys.exit(1)
            """
        return (try? runProcess("/usr/bin/env", ["ip", "netns", "exec", namespace.name, "python3", "-c", script]))?.status == 0
    }

    /// Pods are dual-stack: 10.244.1.N and fd00:10:244:1::N.
    static func pod(_ name: String, ip: String, labels: String, ports: String = "[]") -> String {
        let host = ip.split(separator: ".").last!
        return """
        {"kind": "Pod", "metadata": {"name": "\(name)", "namespace": "x", "labels": \(labels)},
         "spec": {"nodeName": "node-a", "containers": [{"ports": \(ports)}]},
         "status": {"phase": "Running", "podIPs": [{"ip": "\(ip)"}, {"ip": "fd00:10:244:1::\(host)"}]}}
        """
    }

    static func cluster(cLabels: String, policies: [String]) -> String {
        let items = [#"{"kind": "Namespace", "metadata": {"name": "x"}}"#,
                     pod("a", ip: "10.244.1.10", labels: #"{"pod": "a"}"#, ports: #"[{"name": "web", "containerPort": 80}]"#),
                     pod("b", ip: "10.244.1.11", labels: #"{"pod": "b"}"#),
                     pod("c", ip: "10.244.1.12", labels: cLabels)] + policies
        return "{\"kind\": \"List\", \"items\": [\n" + items.joined(separator: ",\n") + "\n]}"
    }

    /// Pod a admits pod=b on its port named web (80, TCP) and on UDP 80, nothing else.
    static let allowBToWeb = """
        {"kind": "NetworkPolicy", "metadata": {"name": "a-from-b", "namespace": "x"},
         "spec": {"podSelector": {"matchLabels": {"pod": "a"}},
                  "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}],
                               "ports": [{"port": "web"}, {"protocol": "UDP", "port": 80}]}]}}
        """

    @Test(.enabled(if: KernelTest.enabled))
    func policyIsEnforcedAndLabelChangesAreSetUpdatesOnly() throws {
        let lab = try NodeLab()
        let pods = try ["a", "b", "c"].map { _ in try TestNamespace(prefix: "pnnppod") }
        var servers: [Server] = []
        defer {
            servers.forEach { $0.stop() }
            pods.forEach { $0.delete() }
            lab.delete()
        }
        let config = try configFile(nodeConfig(peers: 0, extra: """
            pods:
              - {name: a, netns: \(pods[0].name), ips: [10.244.1.10, "fd00:10:244:1::10"]}
              - {name: b, netns: \(pods[1].name), ips: [10.244.1.11, "fd00:10:244:1::11"]}
              - {name: c, netns: \(pods[2].name), ips: [10.244.1.12, "fd00:10:244:1::12"]}
            """))
        // The host beyond the node reaches the pods through it.
        try lab.upstream.run(["ip", "route", "add", "10.244.1.0/24", "via", "198.18.0.10"])
        let none = try configFile(Self.cluster(cLabels: #"{"pod": "c"}"#, policies: []))
        let applied = try lab.podnet(["apply", "-f", config, "--cluster", none])
        #expect(applied.status == 0, "\(applied.stderr)")
        // No policies: no policy chain, no set.
        #expect(!(try lab.savedRules()).contains("PODNET-POLICY"))
        #expect(try lab.node.run(["ipset", "list", "-n"]).isEmpty)

        servers.append(try Server(in: pods[0], name: "a", port: 80))
        servers.append(try Server(in: pods[0], name: "a", port: 81))
        servers.append(try Server(in: pods[1], name: "b", port: 80))
        #expect(Self.reaches(pods[2], "10.244.1.10", 80), "before any policy, c reaches a")
        #expect(Self.reaches(lab.upstream, "10.244.1.10", 81), "before any policy, the outside host reaches a")

        // A connection c opened before the policy (to a line echo on 82) stays up after it:
        // conntrack lets the rest of an allowed connection through (README: existing connections).
        let go = FileManager.default.temporaryDirectory.appendingPathComponent("pnnp-go-\(UUID())").path
        let lineEcho = Process(), established = Process(), answer = Pipe()
        lineEcho.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        lineEcho.arguments = ["ip", "netns", "exec", pods[0].name, "python3", "-c", """
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 82)); s.listen()
            c, _ = s.accept()
            while (data := c.recv(100)): c.sendall(data)
            """]
        try lineEcho.run()
        defer { kill(lineEcho.processIdentifier, SIGKILL); lineEcho.waitUntilExit() }
        usleep(300_000)
        established.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        established.arguments = ["ip", "netns", "exec", pods[2].name, "python3", "-c", """
            import os, socket, time
            s = socket.create_connection(('10.244.1.10', 82), 2); s.settimeout(2)
            s.sendall(b'1'); assert s.recv(10) == b'1'
            while not os.path.exists('\(go)'): time.sleep(0.05)
            try:
                s.sendall(b'2'); print('kept' if s.recv(10) == b'2' else 'lost')
            except OSError as error:
                print('lost', error)
            """]
        established.standardOutput = answer
        try established.run()
        usleep(500_000)

        let first = try configFile(Self.cluster(cLabels: #"{"pod": "c"}"#, policies: [Self.allowBToWeb]))
        let enforced = try lab.podnet(["apply", "-f", config, "--cluster", first])
        #expect(enforced.status == 0, "\(enforced.stderr)")
        FileManager.default.createFile(atPath: go, contents: nil)
        established.waitUntilExit()
        try? FileManager.default.removeItem(atPath: go)
        let kept = String(decoding: answer.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(kept == "kept\n", "the connection c opened before the policy: \(kept)")
        #expect(Self.reaches(pods[1], "10.244.1.10", 80), "b reaches a's web port (same node: bridged)")
        #expect(Self.reaches(pods[1], "fd00:10:244:1::10", 80), "b reaches a's web port over IPv6")
        #expect(!Self.reaches(pods[2], "fd00:10:244:1::10", 80), "c does not reach a over IPv6")
        #expect(Self.reaches(pods[2], "fd00:10:244:1::11", 80), "c reaches b over IPv6 (b is not isolated)")
        #expect(!Self.reaches(pods[1], "10.244.1.10", 81), "b does not reach a's other port")
        #expect(!Self.reaches(pods[2], "10.244.1.10", 80), "c does not reach a")
        #expect(!Self.reaches(lab.upstream, "10.244.1.10", 80), "the outside host does not reach a (routed)")
        #expect(Self.reaches(lab.node, "10.244.1.10", 81), "a's own node always reaches it (kubelet probes)")
        #expect(Self.reaches(pods[0], "10.244.1.11", 80), "a's egress is not isolated")
        #expect(Self.reaches(pods[2], "10.244.1.11", 80), "b is not isolated")
        // A datagram from b reaches a's UDP 80; one from c borrowing b's address is dropped at c's port.
        Self.sendUDP(pods[1], to: "10.244.1.10", 80, from: "10.244.1.11")
        #expect(servers[0].heard("10.244.1.11"), "b's datagram reaches a: the check below could not fail otherwise")
        servers[0].stop()
        servers[0] = try Server(in: pods[0], name: "a", port: 80)
        try pods[2].run(["ip", "addr", "add", "10.244.1.11/32", "dev", "eth0"])
        Self.sendUDP(pods[2], to: "10.244.1.10", 80, from: "10.244.1.11")
        #expect(!servers[0].heard("10.244.1.11"), "c cannot pass for b")
        try pods[2].run(["ip", "addr", "del", "10.244.1.11/32", "dev", "eth0"])

        // c relabelled pod=b: set members change, no table is committed.
        let relabelled = try configFile(Self.cluster(cLabels: #"{"pod": "b"}"#, policies: [Self.allowBToWeb]))
        let diff = try lab.podnet(["diff", "-f", config, "--cluster", relabelled])
        #expect(diff.status == 2)
        #expect(diff.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("Plan:") }
            .allSatisfy { $0.hasPrefix("+ ipset add ") }, "\(diff.stdout)")
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-strace-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        _ = try runCommand(["env", "PODNET_LOCK_DIR=\(lab.lockDirectory)", "XTABLES_LOCKFILE=\(lab.xtablesLock)",
                            "strace", "-f", "-qq", "-e", "trace=setsockopt,sendto,sendmsg", "-o", trace,
                            PodNetBinary.path, "apply", "-f", config, "--cluster", relabelled, "--netns", lab.node.name])
        let calls = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(!calls.contains("IPT_SO_SET_REPLACE") && !calls.contains("IP6T_SO_SET_REPLACE"), "a table was committed")
        // NFNL_SUBSYS_IPSET << 8 | IPSET_CMD_ADD, by number: strace does not decode a socket of another namespace.
        #expect(calls.contains("nlmsg_type=0x609"), "strace shows no ipset add: the check proves nothing")
        // One listing of the sets (IPSET_CMD_LIST): member changes keep the indexes it found.
        #expect(calls.components(separatedBy: "nlmsg_type=0x607").count - 1 == 1, "the sets were listed more than once")
        #expect(Self.reaches(pods[2], "10.244.1.10", 80), "c, now pod=b, reaches a")

        // An established connection survives the policy going away and coming back;
        // teardown removes every rule and set.
        let down = try lab.podnet(["teardown"])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(try lab.node.run(["ipset", "list", "-n"]).isEmpty)
        #expect(!(try lab.savedRules()).contains("PODNET-"))
    }

    /// Removing every policy (tables committed, then sets destroyed) and adding it again
    /// (sets made, then the commit), the kernel refusing each of their writes in turn
    /// (strace makes the call fail with EPERM): the rollback puts back exactly the rules
    /// and sets there were.
    @Test(.enabled(if: KernelTest.enabled))
    func removingPoliciesRollsBackWholeAtEveryWrite() throws {
        let config = try configFile(nodeConfig(peers: 1))
        let with = try configFile(Self.cluster(cLabels: #"{"pod": "c"}"#, policies: [Self.allowBToWeb]))
        let without = try configFile(Self.cluster(cLabels: #"{"pod": "c"}"#, policies: []))
        func appliedNode() throws -> NodeLab {
            let lab = try NodeLab()
            #expect(try lab.podnet(["apply", "-f", config, "--cluster", with]).status == 0)
            return lab
        }
        // The writes of each apply, counted by runs on a node of their own from the same states.
        // A table's counters follow its replace, which the kernel has taken by then.
        let counting = try appliedNode()
        let removal = try counting.kernelWrites(["apply", "-f", config, "--cluster", without]).writes
            .filter { !$0.isCounterUpdate }
        let addition = try counting.kernelWrites(["apply", "-f", config, "--cluster", with]).writes
            .filter { !$0.isCounterUpdate }
        counting.delete()

        let lab = try appliedNode()
        defer { lab.delete() }
        func sets() throws -> String {
            try lab.node.run(["ipset", "save"]).split(separator: "\n").map { line in
                line.hasPrefix("create ") ? line.split(separator: " ").prefix(5).joined(separator: " ") : String(line)
            }.sorted().joined(separator: "\n")
        }
        let rules = try lab.savedRules(), original = try sets()
        #expect(rules.contains("--match-set") && !original.isEmpty)
        #expect(removal.count >= 2, "the removal needs a table commit and set destroys: \(removal)")
        for write in removal {
            let result = try lab.podnet(["apply", "-f", config, "--cluster", without], fault: .refused, at: write)
            #expect(result.status == 1, "\(write): \(result.stderr)")
            #expect(result.stderr.contains("every change of this run was undone") || result.stderr.contains("nothing had been changed"),
                    "\(write): \(result.stderr)")
            #expect(try lab.savedRules() == rules, "\(write): the rules differ after the rollback")
            #expect(try sets() == original, "\(write): the sets differ after the rollback")
        }
        #expect(try lab.podnet(["apply", "-f", config, "--cluster", without]).status == 0)
        #expect(!(try lab.savedRules()).contains("PODNET-POLICY"))
        #expect(try lab.node.run(["ipset", "list", "-n"]).isEmpty)

        // And the other way: adding the policy (sets made, then the commit) fails whole too.
        let bare = try lab.savedRules()
        #expect(addition.count >= 2, "the addition needs set creates and a table commit: \(addition)")
        for write in addition {
            let result = try lab.podnet(["apply", "-f", config, "--cluster", with], fault: .refused, at: write)
            #expect(result.status == 1, "\(write): \(result.stderr)")
            #expect(try lab.savedRules() == bare, "\(write): the rules differ after the rollback")
            #expect(try lab.node.run(["ipset", "list", "-n"]).isEmpty, "\(write): sets left behind")
        }
        #expect(try lab.podnet(["apply", "-f", config, "--cluster", with]).status == 0)
        #expect(try lab.savedRules() == rules)
    }
}
