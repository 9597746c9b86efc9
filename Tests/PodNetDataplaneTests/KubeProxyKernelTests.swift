import Foundation
import Testing
import PodNetTestSupport

/// podnet beside kube-proxy's NAT rules, in kube-proxy's own shape: KUBE-MARK-MASQ ORs
/// 0x4000 into the packet mark, KUBE-POSTROUTING (jumped to from POSTROUTING after
/// podnet's jump) masquerades the marked packets with --random-fully.
@Suite(.serialized) struct KubeProxyKernelTests {
    static let echoServer = Fixtures.root + "/Tests/e2e/echo.py"

    /// kube-proxy's rules, as `iptables-legacy-save -t nat` shows them on a node.
    static func addKubeProxyRules(_ lab: NodeLab) throws {
        for arguments in [
            ["-N", "KUBE-MARK-MASQ"],
            ["-A", "KUBE-MARK-MASQ", "-j", "MARK", "--or-mark", "0x4000"],
            ["-N", "KUBE-POSTROUTING"],
            ["-A", "KUBE-POSTROUTING", "-m", "mark", "!", "--mark", "0x4000/0x4000", "-j", "RETURN"],
            ["-A", "KUBE-POSTROUTING", "-j", "MARK", "--xor-mark", "0x4000"],
            ["-A", "KUBE-POSTROUTING", "-m", "comment", "--comment", "kubernetes service traffic requiring SNAT",
             "-j", "MASQUERADE", "--random-fully"],
            ["-A", "POSTROUTING", "-m", "comment", "--comment", "kubernetes postrouting rules", "-j", "KUBE-POSTROUTING"],
            // As a service rule would: the node's own traffic to 198.18.0.1 is marked for masquerade.
            ["-A", "OUTPUT", "-d", "198.18.0.1/32", "-p", "icmp", "-j", "KUBE-MARK-MASQ"],
        ] {
            try lab.node.run(["iptables-legacy", "-t", "nat"] + arguments)
        }
    }

    /// Packets counted by the rule of `chain` whose line contains `text` (iptables -L -v -x).
    static func packets(_ lab: NodeLab, chain: String, matching text: String) throws -> Int {
        let listing = try lab.node.run(["iptables-legacy", "-t", "nat", "-L", chain, "-v", "-x", "-n"])
        let line = try #require(listing.split(separator: "\n").dropFirst(2).first { $0.contains(text) },
                                "no rule with \(text) in \(chain): \(listing)")
        return try #require(Int(line.split(separator: " ")[0]))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func kubeProxysMarkedPacketsReachItsOwnMasqueradeAndHairpinStillWorks() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        let server = Process()
        defer {
            // SIGKILL: the test runner's threads block SIGTERM, and the server inherits that.
            if server.isRunning {
                kill(server.processIdentifier, SIGKILL)
                server.waitUntilExit()
            }
            lab.delete()
        }
        let path = try configFile(nodeConfig(peers: 0, extra: """
            pods:
              - {name: web, netns: \(pod.name), ips: [10.244.1.10]}
            hostPorts:
              - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}

            """))
        let apply = try lab.podnet(["apply", "-f", path])
        #expect(apply.status == 0, "\(apply.stderr)")
        try Self.addKubeProxyRules(lab)
        // podnet's jump stays first in POSTROUTING, kube-proxy's after it.
        let postrouting = try lab.node.run(["iptables-legacy", "-t", "nat", "-S", "POSTROUTING"])
        #expect(postrouting.split(separator: "\n").filter { $0.hasPrefix("-A") }.map { $0.split(separator: " ").last! }
                == ["PODNET-POSTROUTING", "KUBE-POSTROUTING"], "\(postrouting)")

        // A packet kube-proxy marked is masqueraded by kube-proxy's rule, not by podnet's:
        // no counter of podnet's nat rules moves (the pod's own multicast reports may
        // move the pod masquerade's before, so they are compared across the ping).
        func podnetCounters() throws -> [Substring] {
            try lab.node.run(["iptables-legacy-save", "-t", "nat", "-c"]).split(separator: "\n")
                .filter { $0.contains("-A PODNET-") }
        }
        let before = try podnetCounters()
        try lab.node.run(["ping", "-c", "1", "-W", "2", "198.18.0.1"])
        #expect(try Self.packets(lab, chain: "KUBE-POSTROUTING", matching: "random-fully") == 1)
        #expect(try podnetCounters() == before, "a podnet rule counted kube-proxy's packet")

        // Hairpin: the pod reaches its own host port through the node's address, and is
        // answered (masqueraded to the bridge's address, by podnet's rule).
        let ready = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-echo-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: ready) }
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["ip", "netns", "exec", pod.name, "python3", Self.echoServer, "serve", "web", "80", ready]
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: ready) { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: ready), "the echo server did not start")
        let answer = try pod.run(["python3", Self.echoServer, "ask", "tcp", "198.18.0.10", "8080"])
        #expect(answer == "web saw 10.244.1.1\n")
        #expect(try Self.packets(lab, chain: "PODNET-HAIRPIN", matching: "10.244.1.10") == 1)
        #expect(try Self.packets(lab, chain: "KUBE-POSTROUTING", matching: "random-fully") == 1,
                "kube-proxy's rule saw podnet's hairpin connection")
    }
}
