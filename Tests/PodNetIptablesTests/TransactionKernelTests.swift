import Foundation
import PodNet
import PodNetSystem
import PodNetTestSupport
import Testing
@testable import PodNetIptables

/// A lock file of the test's own, so that tests (and other engineers' iptables
/// commands) do not stall each other on /run/xtables.lock.
func testLock(wait: Duration = .seconds(30)) -> XtablesLock {
    XtablesLock(path: NSTemporaryDirectory() + "podnet-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).lock",
                wait: wait)
}

func podnetJump(_ chain: ChainName, _ name: String) -> Rule {
    Rule(matches: [.comment("podnet: \(name)")], target: .jump(chain))
}

@Suite(.serialized) struct TransactionKernelTests {
    /// Every modelled rule, written through libiptc, is what iptables-legacy-save prints.
    @Test(.enabled(if: KernelTest.enabled), arguments: IPFamily.allCases)
    func writtenRulesSaveAsRendered(_ family: IPFamily) throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let backend = Iptables(namespace: namespace.namespace, lock: testLock())
        let chains: [(TableName, ChainName, BuiltinChain, [Rule])] = [
            (.filter, "PODNET-F", .forward, RuleCatalogue.filter(family)),
            (.nat, "PODNET-PRE", .prerouting, RuleCatalogue.natPrerouting(family)),
            (.nat, "PODNET-POST", .postrouting, RuleCatalogue.natPostrouting(family)),
        ]
        for (table, chain, hook, rules) in chains {
            let id = TableID(family, table)
            let outcome = try backend.transact(id) { _ in
                [.createChain(chain)] + rules.map { .appendRule(chain, $0) }
                    + [.insertRule(hook.name, index: 0, podnetJump(chain, "jump"))]
            }
            #expect(outcome.committed && outcome.attempts == 1)
            let saved = try namespace.savedRules(id, chain: chain)
            #expect(saved == rules.map { IptablesSaveText.appendLine($0, chain: chain) }, "\(id) \(chain)")
            #expect(try namespace.savedRules(id, chain: hook.name)
                    == ["-A \(hook.rawValue) -m comment --comment \"podnet: jump\" -j \(chain)"])
            // And reads back as the same values.
            #expect(try backend.snapshot(id).podnetChain(chain)?.rules.map(\.rule) == rules)
        }
    }

    @Test(.enabled(if: KernelTest.enabled))
    func emptyOperationListCommitsNothing() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        try namespace.restore(.ipv4, OracleRules.ipv4Nat)
        let id = TableID(.ipv4, .nat)
        let before = try namespace.save(id)
        var seen: TableSnapshot?, calls = 0
        let outcome = try Iptables(namespace: namespace.namespace, lock: testLock()).transact(id) { snapshot in
            seen = snapshot
            calls += 1
            return []
        }
        #expect(!outcome.committed && outcome.operations.isEmpty)
        #expect(calls == 1 && outcome.attempts == 1)
        #expect(seen?.podnetChains.map(\.name) == ["PODNET-POST", "PODNET-PRE"])
        #expect(try namespace.stableSave(id) == before.split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("#") }.map { line in
                guard line.hasPrefix(":"), let bracket = line.lastIndex(of: "[") else { return line }
                return String(line[..<bracket])
            })
    }

    /// With nothing to do, the handle is not even touched: a table changed underneath
    /// meanwhile would have made any commit fail with EAGAIN and the closure run again.
    @Test(.enabled(if: KernelTest.enabled))
    func emptyOperationListDoesNotCommitOverAConcurrentChange() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let id = TableID(.ipv4, .filter)
        try namespace.iptables(.ipv4, ["-A", "INPUT", "-p", "udp", "-j", "ACCEPT"])
        let otherLock = testLock().path
        var calls = 0
        let outcome = try Iptables(namespace: namespace.namespace, lock: testLock()).transact(id) { _ in
            calls += 1
            try runCommand(["env", "XTABLES_LOCKFILE=\(otherLock)", "ip", "netns", "exec", namespace.name,
                            "iptables-legacy", "-A", "INPUT", "-p", "tcp", "-j", "ACCEPT"])
            return []
        }
        #expect(calls == 1 && outcome.attempts == 1 && !outcome.committed)
        #expect(try namespace.savedRules(id, chain: "INPUT") == ["-A INPUT -p udp -j ACCEPT", "-A INPUT -p tcp -j ACCEPT"])
    }

    /// The refusals that keep podnet off what it does not own; nothing is committed.
    @Test(.enabled(if: KernelTest.enabled))
    func foreignChainsAndRulesAreNeverTouched() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        try namespace.restore(.ipv4, OracleRules.ipv4Filter)
        let id = TableID(.ipv4, .filter)
        let before = try namespace.stableSave(id)
        let backend = Iptables(namespace: namespace.namespace, lock: testLock())
        let forwardRule1 = Rule(target: .accept)
        let attempts: [(TableOperation, String)] = [
            (.deleteChain("FOREIGN"), "chain FOREIGN is not podnet's"),
            (.flushChain("FORWARD", rules: []), "built-in chain FORWARD cannot be created, flushed or deleted"),
            (.appendRule("FOREIGN", Rule(target: .accept)), "chain FOREIGN is not podnet's"),
            (.insertRule("FORWARD", index: 0, Rule(target: .drop)), "is not a podnet jump"),
            (.deleteRule("FORWARD", index: 1, forwardRule1), "is not a podnet jump"),
            // Index 0 holds podnet's forward jump, not the goto the operation names.
            (.deleteRule("FORWARD", index: 0, podnetJump("PODNET-G", "goto")),
             "rule 0 of FORWARD is not the expected podnet rule (found: -m comment --comment \"podnet: forward\" -j PODNET-F)"),
        ]
        for (operation, message) in attempts {
            #expect {
                try backend.transact(id) { _ in [operation] }
            } throws: { error in
                guard case IptablesError.refused = error else { return false }
                return "\(error)".contains(message)
            }
        }
        #expect(try namespace.stableSave(id) == before)
    }

    /// Rules a commit does not touch keep their counters, as do the policies, with
    /// real traffic between two namespaces.
    @Test(.enabled(if: KernelTest.enabled))
    func countersOfUntouchedRulesSurvive() throws {
        let client = try TestNamespace(), server = try TestNamespace()
        defer {
            client.delete()
            server.delete()
        }
        try runCommand(["ip", "link", "add", "pn-c", "netns", client.name, "type", "veth",
                        "peer", "name", "pn-s", "netns", server.name])
        try client.run(["ip", "addr", "add", "10.99.0.1/24", "dev", "pn-c"])
        try server.run(["ip", "addr", "add", "10.99.0.2/24", "dev", "pn-s"])
        try client.run(["ip", "link", "set", "pn-c", "up"])
        try server.run(["ip", "link", "set", "pn-s", "up"])
        try client.restore(.ipv4, """
            *filter
            :PODNET-OUT - [0:0]
            -A OUTPUT -m comment --comment "podnet: out" -j PODNET-OUT
            -A OUTPUT -p icmp -j ACCEPT
            -A PODNET-OUT -p tcp -j ACCEPT
            -A PODNET-OUT -d 10.99.0.0/24
            COMMIT

            """)
        try client.run(["ping", "-c", "3", "-i", "0.2", "-W", "5", "10.99.0.2"])
        // UDP reaches the end of OUTPUT: the policy counts it.
        try client.run(["bash", "-c", "echo x > /dev/udp/10.99.0.2/9"])
        let id = TableID(.ipv4, .filter)
        let backend = Iptables(namespace: client.namespace, lock: testLock())
        let before = try backend.snapshot(id)
        let output = try #require(before.builtinChain(.output))
        guard case .foreign(let icmpRule) = output.entries[1] else {
            Issue.record("OUTPUT rule 1 should be foreign")
            return
        }
        let icmpBefore = try icmpRule.decode().counters
        let countedBefore = try #require(before.podnetChain("PODNET-OUT")?.rules[1].counters)
        #expect(icmpBefore.packets >= 3)
        #expect(countedBefore.packets >= 4)
        #expect(output.policyCounters.packets >= 1)

        try backend.transact(id) { _ in
            [.insertRule("PODNET-OUT", index: 0, Rule(proto: ProtocolMatch(.udp), target: .accept)),
             .createChain("PODNET-NEW"), .appendRule("PODNET-NEW", Rule(target: .returnFromChain))]
        }
        try client.run(["ping", "-c", "1", "-W", "5", "10.99.0.2"])
        let after = try backend.snapshot(id)
        let outputAfter = try #require(after.builtinChain(.output))
        guard case .foreign(let icmpAfterRule) = outputAfter.entries[1] else {
            Issue.record("OUTPUT rule 1 should be foreign")
            return
        }
        let icmpAfter = try icmpAfterRule.decode().counters
        #expect(icmpAfter.packets >= icmpBefore.packets + 1)
        #expect(icmpAfter.bytes > icmpBefore.bytes)
        let countedAfter = try #require(after.podnetChain("PODNET-OUT")?.rules[2].counters)
        #expect(countedAfter.packets >= countedBefore.packets && countedAfter.bytes >= countedBefore.bytes)
        #expect(outputAfter.policyCounters.packets >= output.policyCounters.packets)
        #expect(outputAfter.policyCounters.bytes >= output.policyCounters.bytes)
        #expect(after.podnetChain("PODNET-OUT")?.rules[0].counters == .zero)
    }

    /// A commit the kernel refuses changes nothing and says what was tried.
    @Test(.enabled(if: KernelTest.enabled))
    func rejectedCommitLeavesTheTableAsItWas() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        try namespace.restore(.ipv4, OracleRules.ipv4Nat)
        let id = TableID(.ipv4, .nat)
        let before = try namespace.stableSave(id)
        let backend = Iptables(namespace: namespace.namespace, lock: testLock())
        // DNAT in a chain reached from POSTROUTING: EINVAL from the kernel's hook check.
        // (A fresh chain jumped to first: the kernel does not check rules it cannot
        // reach, such as those after OracleRules' unconditional ACCEPT.)
        let dnat = Rule(target: .dnat(NATTarget(address: IPAddress("10.1.1.1"))))
        let dnatOperations: [TableOperation] = [
            .createChain("PODNET-REJ"), .appendRule("PODNET-REJ", dnat),
            .insertRule("POSTROUTING", index: 0, podnetJump("PODNET-REJ", "rejected")),
        ]
        #expect {
            try backend.transact(id) { _ in dnatOperations }
        } throws: { error in
            guard case IptablesError.commitRejected(let table, let code, _, let operations) = error else { return false }
            return table == id && code == EINVAL && operations == dnatOperations
                && "\(error)".contains("-A PODNET-REJ -j DNAT --to-destination 10.1.1.1")
                && "\(error)".contains("errno \(EINVAL)")
        }
        #expect(try namespace.stableSave(id) == before)
        // A chain name too long for a jump to reach it.
        let long = ChainName("PODNET-" + String(repeating: "L", count: 22))
        #expect {
            try backend.transact(id) { _ in [.createChain(long)] }
        } throws: { error in
            guard case IptablesError.encoding(_, .createChain(long), .invalidChainName(long)) = error else { return false }
            return true
        }
        // A target no kernel module provides: ENOENT.
        let unknown: [TableOperation] = [
            .createChain("PODNET-X"),
            .appendRule("PODNET-X", Rule(target: .opaque(OpaqueExtension(name: "NOSUCHTARGET", revision: 0, data: [])))),
        ]
        #expect {
            try backend.transact(id) { _ in unknown }
        } throws: { error in
            guard case IptablesError.commitRejected(let table, let code, _, let operations) = error else { return false }
            return table == id && code == ENOENT && operations == unknown && "\(error)".contains("-N PODNET-X")
        }
        #expect(try namespace.stableSave(id) == before)
    }

    /// EAGAIN: the table changed between read and commit (here by iptables-legacy,
    /// without podnet's lock); the transaction reads and computes again.
    @Test(.enabled(if: KernelTest.enabled))
    func concurrentChangeIsRecomputed() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let id = TableID(.ipv4, .filter)
        let otherLock = testLock().path
        func foreignAppend() throws {
            try runCommand(["env", "XTABLES_LOCKFILE=\(otherLock)", "ip", "netns", "exec", namespace.name,
                            "iptables-legacy", "-A", "INPUT", "-j", "ACCEPT"])
        }
        var seenCounts: [Int] = []
        let outcome = try Iptables(namespace: namespace.namespace, lock: testLock()).transact(id) { snapshot in
            seenCounts.append(snapshot.builtinChain(.input)?.entries.count ?? -1)
            if seenCounts.count == 1 { try foreignAppend() }
            return [.createChain("PODNET-A")]
        }
        #expect(outcome.attempts == 2)
        #expect(seenCounts == [0, 1])
        #expect(try namespace.save(id).contains(":PODNET-A - [0:0]"))

        var calls = 0
        #expect {
            try Iptables(namespace: namespace.namespace, lock: testLock(), maxAttempts: 1).transact(id) { _ in
                calls += 1
                try foreignAppend()
                return [.createChain("PODNET-B")]
            }
        } throws: { error in
            guard case IptablesError.concurrentChanges(let table, let attempts) = error else { return false }
            return table == id && attempts == 1
        }
        #expect(calls == 1)
        #expect(try !namespace.save(id).contains("PODNET-B"))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func callsLeaveTheThreadInItsOwnNamespace() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        func current() throws -> String { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net") }
        let original = try current()
        let backend = Iptables(namespace: namespace.namespace, lock: testLock())
        var inside = ""
        try backend.transact(TableID(.ipv6, .filter)) { _ in
            inside = try current()
            return [.createChain("PODNET-NS")]
        }
        #expect(inside != original)
        #expect(try current() == original)
        _ = try backend.snapshot(TableID(.ipv6, .filter))
        #expect(try current() == original)
        #expect(try namespace.save(TableID(.ipv6, .filter)).contains(":PODNET-NS - [0:0]"))
        // A namespace that does not exist: a namespace error, and still home.
        #expect(throws: IptablesError.self) {
            try Iptables(namespace: NetworkNamespace(nameOrPath: "pntest-missing-\(getpid())")).snapshot(TableID(.ipv4, .filter))
        }
        #expect(try current() == original)
    }
}
