import Foundation
import Testing
import PodNetTestSupport

/// A kernel booted with ipv6.disable=1, as libip6tc meets it: the AF_INET6 socket it
/// opens for every IPv6 table fails with EAFNOSUPPORT. This kernel has IPv6, so strace
/// injects that failure into exactly those socket() calls of a podnet run.
@Suite(.serialized) struct IPv6DisabledKernelTests {
    static let ipv4Only = """
        node:
          name: node-a
          podCIDRs: [10.244.1.0/24]
        cluster:
          podCIDRs: [10.244.0.0/16]
        hostPorts:
          - {podIP: 10.244.1.10, protocol: tcp, hostPort: 8080, containerPort: 80}

        """
    static let libip6tcSocket = "socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)"

    /// `podnet ARGUMENTS --netns NODE` under strace, its socket() calls traced to a file.
    static func traced(_ lab: NodeLab, _ arguments: [String], inject: ClosedRange<Int>?) throws
        -> (result: ProcessResult, sockets: [Substring]) {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-strace-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        var strace = ["strace", "-f", "-qq", "-e", "trace=socket", "-o", trace]
        if let inject {
            strace += ["-e", "inject=socket:error=EAFNOSUPPORT:when=\(inject.lowerBound)..\(inject.upperBound)"]
        }
        let result = try runProcess("/usr/bin/env", ["PODNET_LOCK_DIR=\(lab.lockDirectory)",
                                                     "XTABLES_LOCKFILE=\(lab.xtablesLock)"]
                                    + strace + [PodNetBinary.path] + arguments + ["--netns", lab.node.name])
        let sockets = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("socket(") }
        return (result, sockets)
    }

    /// Runs `arguments` on `lab` with libip6tc's sockets failing. Which socket() calls
    /// those are is learnt from the same command on `rehearsal`, a node in the same
    /// state (the same lab for a command that changes nothing); the injected run's own
    /// trace then proves that exactly those calls failed. A run that is to fail stops
    /// (and rolls back, opening other sockets) at the first, so only that one is failed.
    static func withoutIPv6(_ lab: NodeLab, _ arguments: [String], rehearsal: NodeLab,
                            failing: Bool = false) throws -> ProcessResult {
        let calls = try traced(rehearsal, arguments, inject: nil).sockets
        let positions = calls.indices.filter { calls[$0].contains(libip6tcSocket) }.map { $0 + 1 }
        let first = try #require(positions.first, "no libip6tc socket in \(calls)")
        let range = failing ? first...first : first...positions.last!
        try #require(failing || positions == Array(range), "libip6tc's sockets are not consecutive: \(calls)")
        let (result, injected) = try traced(lab, arguments, inject: range)
        let failed = injected.filter { $0.contains("(INJECTED)") }
        #expect(failed.count == range.count, "\(injected)")
        for call in failed {
            #expect(call.contains(libip6tcSocket + " = -1 EAFNOSUPPORT"), "\(call)")
        }
        return result
    }

    @Test(.enabled(if: KernelTest.enabled))
    func anIPv4OnlyConfigAppliesDiffsCleanAndTearsDown() throws {
        let lab = try NodeLab(), rehearsal = try NodeLab()
        defer {
            lab.delete()
            rehearsal.delete()
        }
        let path = try configFile(Self.ipv4Only)
        let diff = try Self.withoutIPv6(lab, ["diff", "-f", path], rehearsal: lab)
        #expect(diff.status == 2, "\(diff.stdout)\(diff.stderr)")
        #expect(!diff.stdout.contains("ip6tables"), "\(diff.stdout)")

        let apply = try Self.withoutIPv6(lab, ["apply", "-f", path], rehearsal: rehearsal)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try lab.node.run(["iptables-legacy-save"]).contains("-A PODNET-HOSTPORTS"))
        #expect(!(try lab.node.run(["ip6tables-legacy-save"]).contains("PODNET")))

        let clean = try Self.withoutIPv6(lab, ["diff", "-f", path], rehearsal: lab)
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        #expect(clean.stdout == "No changes: the node matches the config.\n")

        // The rehearsal node was applied by its traced run: it rehearses the teardown.
        let teardown = try Self.withoutIPv6(lab, ["teardown"], rehearsal: rehearsal)
        #expect(teardown.status == 0, "\(teardown.stdout)\(teardown.stderr)")
        #expect(!(try lab.node.run(["iptables-legacy-save"]).contains("PODNET")))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func aDualStackConfigFailsNamingTheMissingFamily() throws {
        let lab = try NodeLab(), rehearsal = try NodeLab()
        defer {
            lab.delete()
            rehearsal.delete()
        }
        let path = try configFile(nodeConfig(peers: 0))
        let message = "ipv6/filter: this kernel has no IPv6 (libiptc: "
        let diff = try Self.withoutIPv6(lab, ["diff", "-f", path], rehearsal: lab, failing: true)
        #expect(diff.status == 1, "\(diff.stdout)\(diff.stderr)")
        #expect(diff.stderr.contains(message), "\(diff.stderr)")
        #expect(diff.stderr.contains("ipv6.disable=1"), "\(diff.stderr)")

        let before = try lab.savedRules()
        let apply = try Self.withoutIPv6(lab, ["apply", "-f", path], rehearsal: rehearsal, failing: true)
        #expect(apply.status == 1, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stderr.contains(message), "\(apply.stderr)")
        #expect(try lab.savedRules() == before, "a failed apply leaves the tables as they were")
    }
}
