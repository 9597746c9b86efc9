import Foundation
import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetTestSupport
import Testing
@testable import PodNetIptables

/// Each fixture's desired tables, written through the backend into an empty namespace,
/// are listed by iptables-legacy-save exactly as the golden render (rules/NAME.rules)
/// has them, and read back as the same values.
@Suite struct FixtureKernelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let fixtures: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("fixtures").path)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }.sorted()
    }()

    static func desiredState(_ fixture: String) throws -> DesiredState {
        let directory = root.appendingPathComponent("fixtures")
        let nodeList = directory.appendingPathComponent(fixture + ".nodes.json").path
        let loaded = try ConfigLoader.load(configPath: directory.appendingPathComponent(fixture + ".yaml").path,
                                           nodeListPath: FileManager.default.fileExists(atPath: nodeList) ? nodeList : nil)
        return try Compiler.compile(loaded.config)
    }

    /// The golden file's iptables lines per table: `:PODNET-` declarations and `-A` lines.
    static func goldenLines(_ fixture: String) throws -> [TableID: [String]] {
        let text = try String(contentsOf: root.appendingPathComponent("rules/\(fixture).rules"), encoding: .utf8)
        var tables: [TableID: [String]] = [:]
        var family: IPFamily?, table: TableName?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# ipv4 iptables") { family = .ipv4 } else if line.hasPrefix("# ipv6 ip6tables") {
                family = .ipv6
            } else if line.hasPrefix("*") {
                table = TableName(rawValue: String(line.dropFirst()))
            } else if line == "COMMIT" {
                table = nil
            } else if let family, let table, line.hasPrefix(":") || line.hasPrefix("-A ") {
                tables[TableID(family, table), default: []].append(line)
            } else if line.hasPrefix("# ") && table == nil && !line.hasPrefix("# ipv") {
                family = nil
            }
        }
        return tables
    }

    /// The operations that write a table into an empty namespace: chains, their rules,
    /// then each jump at the top of its built-in chain or appended to it.
    static func operations(_ table: TableState) -> [TableOperation] {
        var operations: [TableOperation] = table.chains.map { .createChain($0.name) }
        operations += table.chains.flatMap { chain in chain.rules.map { TableOperation.appendRule(chain.name, $0) } }
        var topCount: [BuiltinChain: Int] = [:]
        for jump in table.jumps {
            switch jump.placement {
            case .top:
                let index = topCount[jump.builtinChain, default: 0]
                operations.append(.insertRule(jump.builtinChain.name, index: index, jump.rule))
                topCount[jump.builtinChain] = index + 1
            case .appended:
                operations.append(.appendRule(jump.builtinChain.name, jump.rule))
            }
        }
        return operations
    }

    @Test(.enabled(if: KernelTest.enabled), arguments: fixtures)
    func fixtureWrittenThroughTheBackendSavesAsGolden(_ fixture: String) throws {
        let state = try Self.desiredState(fixture)
        let golden = try Self.goldenLines(fixture)
        #expect(Set(golden.keys) == Set(state.tables.map(\.id)), "tables in rules/\(fixture).rules")
        let namespace = try TestNamespace(prefix: "pnfixture")
        defer { namespace.delete() }
        let backend = Iptables(namespace: namespace.namespace, lock: testLock())
        for table in state.tables {
            let outcome = try backend.transact(table.id) { _ in Self.operations(table) }
            #expect(outcome.committed == !Self.operations(table).isEmpty)
            let saved = try namespace.save(table.id).split(separator: "\n").map(String.init)
                .filter { $0.hasPrefix(":PODNET-") || $0.hasPrefix("-A ") }
            #expect(saved == golden[table.id], "\(fixture) \(table.id)")
            // Read back, the values are the compiler's: a diff against them finds nothing.
            let observed = try backend.snapshot(table.id).observed
            #expect(observed.chains == table.chains, "\(fixture) \(table.id)")
            // Jumps come back in hook order rather than the compiler's: compare them as a set.
            let observedJumps = observed.jumps.map { "\($0.builtinChain) \(IptablesSaveText.render($0.rule))" }
            let desiredJumps = table.jumps.map { "\($0.builtinChain) \(IptablesSaveText.render($0.rule))" }
            #expect(observedJumps.count == desiredJumps.count && Set(observedJumps) == Set(desiredJumps))
            #expect(Set(observed.jumps.map(\.rule)) == Set(table.jumps.map(\.rule)))
        }
    }
}
