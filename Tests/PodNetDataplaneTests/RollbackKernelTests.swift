import Foundation
import Testing
import PodNet
import PodNetDataplane
import PodNetTestSupport

@Suite(.serialized) struct RollbackKernelTests {
    /// A plan that touches links, addresses, sysctls, routes and both families' tables;
    /// failing each of its kernel writes in turn leaves the node exactly as it was.
    @Test(.enabled(if: KernelTest.enabled))
    func failureAtEveryWriteLeavesTheNodeAsItWas() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        // Start from an applied node, then change a lot: routes added, replaced and
        // deleted, chains created and deleted in both families.
        let first = try configFile(nodeConfig(peers: 3))
        #expect(try lab.podnet(["apply", "-f", first]).status == 0)
        let second = try configFile(nodeConfig(peers: 2, extra: """
            masquerade: false
            bridge: {mtu: 1400}
            hostPorts:
              - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}
              - {podIP: "fd00:10:244:1::a", protocol: udp, hostPort: 5353, containerPort: 53}
            """))
        try lab.node.run(["ip", "route", "replace", "10.244.2.0/24", "via", "198.18.0.77", "proto", "111"])

        let rules = try lab.savedRules(), routes = try lab.routes(), links = try lab.links()
        let addresses = try lab.node.run(["ip", "-br", "addr"])
        let sysctl = try lab.node.run(["sysctl", "-n", "net.ipv4.conf.cbr0.route_localnet"])

        let plan = try lab.podnet(["diff", "-f", second, "--output", "json"])
        #expect(plan.status == 2)
        var failures = 0
        for write in 1...40 {
            let result = try lab.podnet(["apply", "-f", second], environment: ["PODNET_TEST_FAIL_AT_WRITE": String(write)])
            if result.status == 0 {
                // Past the last write: the whole plan went through; the loop has covered every write.
                #expect(write > 5, "the plan should need several writes")
                break
            }
            failures += 1
            #expect(result.status == 1)
            #expect(result.stderr.contains("test fault injected at kernel write \(write)"), "\(result.stderr)")
            #expect(result.stderr.contains("every change of this run was undone") || result.stderr.contains("nothing had been changed"),
                    "\(result.stderr)")
            #expect(try lab.savedRules() == rules, "write \(write): iptables differ after rollback")
            #expect(try lab.routes() == routes, "write \(write): routes differ after rollback")
            #expect(try lab.links() == links, "write \(write): links differ after rollback")
            #expect(try lab.node.run(["ip", "-br", "addr"]) == addresses, "write \(write): addresses differ")
            #expect(try lab.node.run(["sysctl", "-n", "net.ipv4.conf.cbr0.route_localnet"]) == sysctl)
        }
        #expect(failures >= 5)
        #expect(try lab.podnet(["diff", "-f", second]).status == 0)
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
        // flock does not queue waiters in order: whichever finished last ran last.
        let last = try #require(results.finishOrder.last)
        #expect(try lab.podnet(["diff", "-f", configs[last]]).status == 0, "the node is as the last apply left it")
        #expect(try lab.podnet(["diff", "-f", configs[1 - last]]).status == 2)
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int: Int32] = [:]
    private var order: [Int] = []
    func append(_ index: Int, _ status: Int32) {
        lock.withLock {
            statuses[index] = status
            order.append(index)
        }
    }
    var finishOrder: [Int] { lock.withLock { order } }
    var sorted: [Int32] { lock.withLock { statuses.keys.sorted().map { statuses[$0]! } } }
}
