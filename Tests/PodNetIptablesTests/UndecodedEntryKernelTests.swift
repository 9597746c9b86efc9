import Foundation
import PodNet
import PodNetSystem
import PodNetTestSupport
import Testing
@testable import PodNetIptables

/// A rule someone put in a PODNET- chain that podnet cannot decode (`-f`, a header
/// test the rule model lacks) is read as an undecoded entry, deleted only after its
/// bytes are compared with what the kernel holds now, and put back byte for byte.
@Suite(.serialized) struct UndecodedEntryKernelTests {
    static let id = TableID(.ipv4, .filter)
    static let chain: ChainName = "PODNET-X"
    static let accept = Rule(matches: [.comment("podnet: kept")], target: .accept)

    static func setUp(_ namespace: TestNamespace, _ backend: Iptables) throws {
        try backend.transact(id) { _ in [.createChain(chain), .appendRule(chain, accept)] }
        try namespace.run(["iptables-legacy", "-A", chain.rawValue, "-f", "-j", "DROP"])
    }

    @Test(.enabled(if: KernelTest.enabled))
    func isReadShownAndComparedByItsBytes() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let backend = Iptables(namespace: namespace.namespace, lock: testLock())
        try Self.setUp(namespace, backend)
        let rules = try #require(try backend.snapshot(Self.id).podnetChain(Self.chain)).rules.map(\.rule)
        #expect(rules.count == 2 && rules[0] == Self.accept)
        guard case .undecoded(let entry) = rules[1].target else {
            Issue.record("not undecoded: \(rules[1])")
            return
        }
        #expect(entry.summary == "-f -j DROP (header field flags holds a value podnet does not model)")
        #expect(IptablesSaveText.appendLine(rules[1], chain: Self.chain)
                == "-A PODNET-X /* podnet: undecodable entry: -f -j DROP (header field flags holds a value podnet does not model) */")
        // Read again after traffic-independent changes elsewhere: the same bytes.
        try namespace.run(["iptables-legacy", "-N", "OTHER"])
        #expect(try backend.snapshot(Self.id).podnetChain(Self.chain)?.rules.map(\.rule) == rules)

        // Changed underneath (now -f -j ACCEPT): a delete computed from the old read is refused.
        try namespace.run(["iptables-legacy", "-R", Self.chain.rawValue, "2", "-f", "-j", "ACCEPT"])
        #expect {
            try backend.transact(Self.id) { _ in [.deleteRule(Self.chain, index: 1, rules[1])] }
        } throws: { error in
            guard case .refused(_, _, .ruleMismatch(_, 1, let found)) = error as? IptablesError else { return false }
            return found?.contains("-f -j ACCEPT") == true
        }
        #expect(try namespace.run(["iptables-legacy", "-S", Self.chain.rawValue]).contains("-f -j ACCEPT"))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func deletedByPositionAndPutBackByteForByte() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let backend = Iptables(namespace: namespace.namespace, lock: testLock())
        try Self.setUp(namespace, backend)
        let before = try namespace.run(["iptables-legacy", "-S", Self.chain.rawValue])
        let rules = try #require(try backend.snapshot(Self.id).podnetChain(Self.chain)).rules.map(\.rule)
        try backend.transact(Self.id) { _ in [.deleteRule(Self.chain, index: 1, rules[1])] }
        #expect(try namespace.run(["iptables-legacy", "-S", Self.chain.rawValue])
                == "-N PODNET-X\n-A PODNET-X -m comment --comment \"podnet: kept\" -j ACCEPT\n")
        // What a rollback does: the undo of the delete inserts the entry again.
        let undo = TableOperation.inverse(of: [.deleteRule(Self.chain, index: 1, rules[1])], chainLengths: [Self.chain: 2])
        try backend.transact(Self.id) { _ in undo }
        #expect(try namespace.run(["iptables-legacy", "-S", Self.chain.rawValue]) == before)
        // A flushed chain (teardown) is put back the same way.
        try backend.transact(Self.id) { _ in [.flushChain(Self.chain, rules: rules)] }
        try backend.transact(Self.id) { _ in
            TableOperation.inverse(of: [.flushChain(Self.chain, rules: rules)], chainLengths: [Self.chain: 2])
        }
        #expect(try namespace.run(["iptables-legacy", "-S", Self.chain.rawValue]) == before)
    }
}
