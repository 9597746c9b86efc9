import Foundation
import Testing
import PodNet
@testable import PodNetCompiler
import PodNetTestSupport

/// Each fixture's `--iptables ipv4|ipv6` text loaded into a fresh network namespace
/// with iptables-legacy-restore --noflush: the kernel must accept it, the kernel's
/// own listing must show podnet's chains, jumps and rules exactly as podnet renders
/// them, and the administrator's policies must survive the load.
@Suite struct RestoreKernelTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let fixture: String
        let family: IPFamily
        var testDescription: String { "\(fixture) \(family.rawValue)" }
    }

    static let cases = Fixtures.names.flatMap { name in IPFamily.allCases.map { Case(fixture: name, family: $0) } }

    @Test(.enabled(if: KernelTest.enabled), arguments: cases)
    func kernelAcceptsRestoreText(_ testCase: Case) throws {
        let state = try Fixtures.state(testCase.fixture)
        let tables = state.tables.filter { $0.id.family == testCase.family }
        let text = StateRenderer.restoreText(state, family: testCase.family)
        guard !tables.isEmpty else {
            #expect(text.isEmpty, "no tables, nothing to load")
            return
        }
        let tool = testCase.family == .ipv4 ? "iptables-legacy" : "ip6tables-legacy"

        let namespace = try TestNamespace(prefix: "pncompile")
        defer { namespace.delete() }
        // An administrator's DROP policy and a rule of theirs in every built-in chain
        // podnet hooks: the load must leave the policy alone and place podnet's jumps
        // before (top) or after (appended) the administrator's rule.
        try namespace.run([tool, "--wait", "60", "-P", "FORWARD", "DROP"])
        let adminSource = testCase.family == .ipv4 ? "192.0.2.1/32" : "2001:db8:ffff::1/128"
        for table in tables {
            for jump in table.jumps {
                try namespace.run([tool, "--wait", "60", "-t", table.id.table.rawValue, "-A", jump.builtinChain.rawValue,
                                   "-s", adminSource, "-m", "comment", "--comment", "administrator rule", "-j", "ACCEPT"])
            }
        }
        try namespace.run([tool + "-restore", "--wait=60", "--noflush"], stdin: text)
        let saved = try namespace.run([tool + "-save"])

        let blocks = Self.tableBlocks(saved)
        #expect(blocks["filter"]?.contains(":FORWARD DROP [0:0]") == true, "FORWARD policy overwritten:\n\(saved)")
        for table in tables {
            let kernelLines = (blocks[table.id.table.rawValue] ?? []).filter { $0.hasPrefix(":PODNET-") || $0.hasPrefix("-A ") }
            let expected = Self.expectedLines(table, adminSource: adminSource)
            #expect(kernelLines == expected, "\(table.id) as the kernel lists it:\n\(saved)")
        }
    }

    /// podnet's lines as iptables-save prints them, with the administrator's rule
    /// after each top jump and before each appended one.
    static func expectedLines(_ table: TableState, adminSource: String) -> [String] {
        let podnetLines = StateRenderer.saveLines(table)
        var lines = podnetLines.filter { $0.hasPrefix(":") }
        for jump in table.jumps.sorted(by: { builtinOrder(table, $0) < builtinOrder(table, $1) }) {
            let jumpLine = IptablesSaveText.appendLine(jump.rule, chain: jump.builtinChain.name)
            #expect(podnetLines.contains(jumpLine))
            let admin = "-A \(jump.builtinChain.rawValue) -s \(adminSource) -m comment --comment \"administrator rule\" -j ACCEPT"
            lines += jump.placement == .top ? [jumpLine, admin] : [admin, jumpLine]
        }
        return lines + podnetLines.filter { $0.hasPrefix("-A \(ChainName.podnetPrefix)") }
    }

    static func builtinOrder(_ table: TableState, _ jump: JumpRule) -> Int {
        table.id.table.builtinChains.firstIndex(of: jump.builtinChain) ?? Int.max
    }

    /// iptables-save output split into its `*table` ... `COMMIT` blocks.
    static func tableBlocks(_ saved: String) -> [String: [String]] {
        var blocks: [String: [String]] = [:]
        var current: String?
        for line in saved.split(separator: "\n").map(String.init) {
            if line.hasPrefix("*") {
                current = String(line.dropFirst())
            } else if line == "COMMIT" {
                current = nil
            } else if let table = current {
                blocks[table, default: []].append(line)
            }
        }
        return blocks
    }
}
