import Foundation
import Testing
import PodNetTestSupport

/// A pod whose spec changes is remade under the same names (its host end, eth0 in its
/// namespace), so the executor has to detach it before attaching it again.
@Suite(.serialized) struct PodReattachKernelTests {
    private func config(podNamespace: String, ip: String) throws -> String {
        try configFile(nodeConfig(peers: 0, extra: """
            pods:
              - {name: web, netns: \(podNamespace), ips: [\(ip)]}

            """))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func changedAddressIsAppliedByRemakingThePod() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        defer { lab.delete() }
        #expect(try lab.podnet(["apply", "-f", try config(podNamespace: pod.name, ip: "10.244.1.10")]).status == 0)
        let changed = try config(podNamespace: pod.name, ip: "10.244.1.20")
        let apply = try lab.podnet(["apply", "-f", changed])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(try pod.run(["ip", "-4", "-br", "addr", "show", "dev", "eth0"]).contains(" 10.244.1.20/24"))
        #expect(!(try pod.run(["ip", "-4", "-br", "addr", "show", "dev", "eth0"]).contains("10.244.1.10")))
        #expect(try lab.podnet(["diff", "-f", changed]).status == 0)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func failedReattachSaysThePodStaysDetachedAndTheNextApplyAttachesIt() throws {
        func appliedNode() throws -> (lab: NodeLab, pod: TestNamespace, changed: String) {
            let lab = try NodeLab(), pod = try TestNamespace(prefix: "pnpod")
            #expect(try lab.podnet(["apply", "-f", try config(podNamespace: pod.name, ip: "10.244.1.10")]).status == 0)
            return (lab, pod, try config(podNamespace: pod.name, ip: "10.244.1.20"))
        }
        // Write 1 detaches the pod (RTM_DELLINK), write 2 creates its veth again
        // (RTM_NEWLINK): counted on a node of its own, then refused on this one.
        let counting = try appliedNode()
        let writes = try counting.lab.kernelWrites(["apply", "-f", counting.changed]).writes
        counting.lab.delete()
        counting.pod.delete()
        try #require(writes.count > 2)
        #expect(writes[0].trace.contains("nlmsg_type=0x11"), "\(writes[0])")
        #expect(writes[1].trace.contains("nlmsg_type=0x10"), "\(writes[1])")

        let (lab, pod, changed) = try appliedNode()
        defer {
            lab.delete()
            pod.delete()
        }
        let failed = try lab.podnet(["apply", "-f", changed], fault: .refused, at: writes[1])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("pod web's previous attachment cannot be restored"), "\(failed.stderr)")
        #expect(!failed.stderr.contains("every change of this run was undone"))
        #expect(try pod.run(["ip", "-br", "link"]).split(separator: "\n").map { $0.split(separator: " ")[0] } == ["lo"])

        #expect(try lab.podnet(["apply", "-f", changed]).status == 0)
        #expect(try pod.run(["ip", "-4", "-br", "addr", "show", "dev", "eth0"]).contains(" 10.244.1.20/24"))
    }

    /// A pod remade with the same address (here because the MTU changed) keeps its MAC,
    /// so the node's neighbour entry for it stays right and traffic flows at once.
    @Test(.enabled(if: KernelTest.enabled))
    func podRemadeWithTheSameAddressKeepsItsMACAndIsReachableAtOnce() throws {
        let lab = try NodeLab(pods: 1), pod = lab.pods[0]
        defer { lab.delete() }
        func configWith(mtu: Int) throws -> String {
            try configFile(nodeConfig(peers: 0, extra: """
                bridge: {mtu: \(mtu)}
                pods:
                  - {name: web, netns: \(pod.name), ips: [10.244.1.10]}

                """))
        }
        #expect(try lab.podnet(["apply", "-f", try configWith(mtu: 1500)]).status == 0)
        let macBefore = try pod.run(["cat", "/sys/class/net/eth0/address"])
        // The node learns the pod's MAC.
        try lab.node.run(["ping", "-c", "1", "-W", "2", "10.244.1.10"])
        let remake = try lab.podnet(["apply", "-f", try configWith(mtu: 1400)])
        #expect(remake.status == 0, "\(remake.stderr)")
        #expect(remake.stdout.contains("ip link del"), "the pod was remade: \(remake.stdout)")
        #expect(try pod.run(["cat", "/sys/class/net/eth0/address"]) == macBefore)
        #expect(try pod.run(["cat", "/sys/class/net/eth0/mtu"]) == "1400\n")
        try lab.node.run(["ping", "-c", "1", "-W", "2", "10.244.1.10"])
    }
}
