import Foundation
import Testing
import PodNet
import PodNetDataplane
import PodNetTestSupport

@Suite(.serialized) struct RollbackKernelTests {
    /// A plan that touches links, addresses, sysctls, routes, a pod and both families'
    /// tables; the kernel refusing each of its writes in turn (strace makes the call fail
    /// with EPERM) leaves the node exactly as it was.
    @Test(.enabled(if: KernelTest.enabled))
    func failureAtEveryWriteLeavesTheNodeAsItWas() throws {
        // Start from an applied node, then change a lot: routes added, replaced and
        // deleted, chains created and deleted in both families, a pod attached.
        let first = try configFile(nodeConfig(peers: 3))
        func appliedNode() throws -> (lab: NodeLab, pod: TestNamespace, second: String) {
            let lab = try NodeLab(), pod = try TestNamespace(prefix: "pnpod")
            #expect(try lab.podnet(["apply", "-f", first]).status == 0)
            try lab.node.run(["ip", "route", "replace", "10.244.2.0/24", "via", "198.18.0.77", "proto", "111"])
            let second = try configFile(nodeConfig(peers: 2, extra: """
                masquerade: false
                bridge: {mtu: 1400}
                hostPorts:
                  - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}
                  - {podIP: "fd00:10:244:1::a", protocol: udp, hostPort: 5353, containerPort: 53}
                pods:
                  - {name: web, netns: \(pod.name), ips: [10.244.1.10, "fd00:10:244:1::a"]}
                """))
            return (lab, pod, second)
        }
        // The writes, counted by a run of the second apply on a node of its own.
        let counting = try appliedNode()
        let writes = try counting.lab.kernelWrites(["apply", "-f", counting.second]).writes
            // A table's counters follow its replace, which the kernel has taken by then
            // (countersRefusedAfterTheReplaceStillCountAsCommitted).
            .filter { !$0.isCounterUpdate }
        counting.lab.delete()
        counting.pod.delete()
        #expect(writes.count > 5, "the plan should need several writes: \(writes)")

        let (lab, pod, second) = try appliedNode()
        defer {
            lab.delete()
            pod.delete()
        }
        let podLinks = try pod.run(["ip", "-br", "link"])
        let rules = try lab.savedRules(), routes = try lab.routes(), links = try lab.links()
        // Global addresses only: a pod attached and removed again leaves the bridge with
        // the link-local address the kernel gives it once it has had a carrier.
        let addresses = try lab.node.run(["ip", "-o", "addr", "show", "scope", "global"])
        let sysctl = try lab.node.run(["sysctl", "-n", "net.ipv4.conf.cbr0.route_localnet"])

        let plan = try lab.podnet(["diff", "-f", second, "--output", "json"])
        #expect(plan.status == 2)
        for write in writes {
            let result = try lab.podnet(["apply", "-f", second], fault: .refused, at: write)
            #expect(result.status == 1, "\(write): \(result.stderr)")
            #expect(result.stderr.contains("Operation not permitted") || result.stderr.contains("Permission denied"),
                    "\(write): \(result.stderr)")
            #expect(result.stderr.contains("every change of this run was undone") || result.stderr.contains("nothing had been changed"),
                    "\(result.stderr)")
            #expect(try lab.savedRules() == rules, "write \(write): iptables differ after rollback")
            #expect(try lab.routes() == routes, "write \(write): routes differ after rollback")
            #expect(try lab.links() == links, "write \(write): links differ after rollback")
            #expect(try lab.node.run(["ip", "-o", "addr", "show", "scope", "global"]) == addresses,
                    "write \(write): addresses differ")
            #expect(try lab.node.run(["sysctl", "-n", "net.ipv4.conf.cbr0.route_localnet"]) == sysctl)
            #expect(try pod.run(["ip", "-br", "link"]) == podLinks, "write \(write): the pod's links differ")
        }
        #expect(try lab.podnet(["apply", "-f", second]).status == 0)
        #expect(try lab.podnet(["diff", "-f", second]).status == 0)
    }

    /// libiptc's commit replaces the table and then carries the kept rules' counters
    /// over, and reports a failure of either. Refused at the second call, the new table
    /// is already in the kernel: the apply goes on (a rollback that skipped that table
    /// would leave it changed while undoing the rest) and says the counters restart.
    @Test(.enabled(if: KernelTest.enabled))
    func countersRefusedAfterTheReplaceStillCountAsCommitted() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let first = try configFile(nodeConfig(peers: 2))
        #expect(try lab.podnet(["apply", "-f", first]).status == 0)
        let second = try configFile(nodeConfig(peers: 3, extra: """
            hostPorts:
              - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}
            """))
        let counterUpdates = try lab.kernelWrites(["apply", "-f", second]).writes.filter(\.isCounterUpdate)
        #expect(!counterUpdates.isEmpty)
        // The counting run applied the config: start each try from the first one again.
        for write in counterUpdates {
            #expect(try lab.podnet(["apply", "-f", first]).status == 0)
            let result = try lab.podnet(["apply", "-f", second], fault: .refused, at: write)
            #expect(result.status == 0, "\(write): \(result.stderr)")
            #expect(result.stderr.contains("the new table is in place, but the kernel did not take its rules' packet counters"),
                    "\(write): \(result.stderr)")
            #expect(try lab.podnet(["diff", "-f", second]).status == 0, "\(write): the node does not match")
        }
    }

    /// A pod's attach refused at the message that names and marks its host end, and the
    /// delete of the half-made veth refused too: the failure says so, and the rollback
    /// deletes the link (it was reported as undone while the link stayed).
    @Test(.enabled(if: KernelTest.enabled))
    func aLinkTheFailedAttachCouldNotDeleteIsDeletedByTheRollback() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        defer { lab.delete() }
        let bare = try configFile(nodeConfig(peers: 1))
        let withPod = try configFile(nodeConfig(peers: 1, extra: """
            pods:
              - {name: web, netns: \(pod.name), ips: [10.244.1.10, "fd00:10:244:1::a"]}
            """))
        #expect(try lab.podnet(["apply", "-f", bare]).status == 0)
        let counting = try lab.kernelWrites(["apply", "-f", withPod])
        // Its alias, "podnet: pod ", as strace prints message bytes.
        let alias = "podnet: pod ".utf8.map { "\\x" + String($0, radix: 16) }.joined()
        let naming = try #require(counting.writes.first { $0.trace.contains(alias) },
                                  "the write naming and marking the host end: \(counting.writes)")
        #expect(try lab.podnet(["apply", "-f", bare]).status == 0)
        // Names only: the bridge's carrier state follows its ports on its own.
        func linkNames() throws -> [Substring] {
            try lab.node.run(["ip", "-br", "link"]).split(separator: "\n").compactMap { $0.split(separator: " ").first }
        }
        let links = try linkNames()

        let result = try lab.podnet(["apply", "-f", withPod], fault: .refused, at: naming, following: 1)
        #expect(result.status == 1)
        #expect(result.stderr.contains("deleting the link it had made"), "\(result.stderr)")
        #expect(!result.stderr.contains("rollback failed"), "\(result.stderr)")
        let after = try linkNames()
        #expect(after == links, "the half-made veth is left: \(after) (before: \(links))")
        #expect(try pod.run(["ip", "-br", "link"]).split(separator: "\n").count == 1, "the veth's eth0 is left in the pod")
        #expect(try lab.podnet(["apply", "-f", withPod]).status == 0)
    }

    /// Two applies of different configs wait for a held podnet lock, then run one after
    /// the other; the node ends as the last one left it.
    @Test(.enabled(if: KernelTest.enabled))
    func concurrentAppliesRunOneAfterTheOther() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let lock = try PodnetLock.forNamespace(lab.node.namespace, wait: .seconds(1))
        let lockPath = lock.path.replacingOccurrences(of: PodnetLock.defaultDirectory, with: lab.lockDirectory)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [lockPath, "sleep", "3"]
        try holder.run()
        defer { holder.waitUntilExit() }
        usleep(300_000)

        let configs = [try configFile(nodeConfig(peers: 1)), try configFile(nodeConfig(peers: 3))]
        let results = ResultBox()
        let group = DispatchGroup()
        for (index, path) in configs.enumerated() {
            DispatchQueue.global().async(group: group) {
                // The second starts a little later, so it queues behind the first.
                usleep(UInt32(index) * 500_000)
                let result = try? lab.podnet(["apply", "-f", path])
                results.append(index, result?.status ?? -1)
            }
        }
        group.wait()
        #expect(results.sorted == [0, 0], "both applies finish")
        // The lock does not queue waiters in order, and the order in which the two processes
        // are reaped need not be the order in which they held it (the first can be reaped
        // after the second has run whole on a loaded machine): what one-after-the-other
        // guarantees is that the node is exactly one of the two configs, not a mixture.
        let diffs = try configs.map { try lab.podnet(["diff", "-f", $0]).status }
        #expect(diffs.sorted() == [0, 2], "the node is exactly one of the two configs: \(diffs)")
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int: Int32] = [:]
    func append(_ index: Int, _ status: Int32) {
        lock.withLock {
            statuses[index] = status
        }
    }
    var sorted: [Int32] { lock.withLock { statuses.keys.sorted().map { statuses[$0]! } } }
}
