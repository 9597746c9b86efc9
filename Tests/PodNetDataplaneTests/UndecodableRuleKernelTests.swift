import Foundation
import Testing
import PodNetTestSupport

/// Someone adds a rule podnet cannot decode to one of its chains
/// (`iptables-legacy -A PODNET-FORWARD -f -j DROP`): diff shows it, apply removes it
/// and converges, teardown removes it with the chain.
@Suite(.serialized) struct UndecodableRuleKernelTests {
    static let shown = "- -A PODNET-FORWARD /* podnet: undecodable entry: -f -j DROP "
        + "(header field flags holds a value podnet does not model) */"

    @Test(.enabled(if: KernelTest.enabled))
    func diffShowsItApplyRemovesItAndConverges() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        let path = try configFile(nodeConfig())
        #expect(try lab.podnet(["apply", "-f", path]).status == 0)
        try lab.node.run(["iptables-legacy", "-I", "PODNET-FORWARD", "2", "-f", "-j", "DROP"])

        let diff = try lab.podnet(["diff", "-f", path])
        #expect(diff.status == 2, "\(diff.stdout)\(diff.stderr)")
        #expect(diff.stdout.contains(Self.shown), "\(diff.stdout)")
        let json = try lab.podnet(["diff", "-f", path, "--output", "json"])
        #expect(json.stdout.contains("undecodable entry: -f -j DROP"), "\(json.stdout)\(json.stderr)")

        let apply = try lab.podnet(["apply", "-f", path])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(!(try lab.node.run(["iptables-legacy", "-S", "PODNET-FORWARD"]).contains(" -f ")))
        let again = try lab.podnet(["diff", "-f", path])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
    }

    @Test(.enabled(if: KernelTest.enabled))
    func teardownRemovesIt() throws {
        let lab = try NodeLab()
        defer { lab.delete() }
        try lab.instantiateTables()
        let before = try lab.savedRules()
        #expect(try lab.podnet(["apply", "-f", try configFile(nodeConfig())]).status == 0)
        try lab.node.run(["iptables-legacy", "-A", "PODNET-FORWARD", "-f", "-j", "DROP"])
        try lab.node.run(["iptables-legacy", "-t", "nat", "-A", "PODNET-POSTROUTING", "-f", "-j", "RETURN"])
        let dryRun = try lab.podnet(["teardown", "--dry-run"])
        #expect(dryRun.status == 2 || dryRun.status == 0, "\(dryRun.stdout)\(dryRun.stderr)")
        let teardown = try lab.podnet(["teardown"])
        #expect(teardown.status == 0, "\(teardown.stdout)\(teardown.stderr)")
        #expect(try lab.savedRules() == before)
    }
}
