import PodNet
import PodNetTestSupport
import Testing
@testable import PodNetIptables

/// A kube-proxy-sized table: podnet finds its jump among tens of thousands of foreign
/// entries, which are positioned but never decoded (rules with `-f`, which do not
/// decode, would make an eager decoder fail), and writes beside them.
@Suite struct LargeTableKernelTests {
    @Test(.enabled(if: KernelTest.enabled))
    func podnetJumpAmongFortyThousandForeignEntries() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let half = 20_000
        var text = "*filter\n:KUBE-SERVICES - [0:0]\n:PODNET-FORWARD - [0:0]\n"
        for index in 0..<half {
            text += "-A FORWARD -f -s 10.\(index / 65536).\(index / 256 % 256).\(index % 256) -j DROP\n"
            if index == half / 2 { text += "-A FORWARD -m comment --comment \"podnet: forward\" -j PODNET-FORWARD\n" }
        }
        for index in 0..<half {
            text += "-A KUBE-SERVICES -f -d 10.96.\(index / 256 % 256).\(index % 256) -p tcp -j DROP\n"
        }
        text += "-A PODNET-FORWARD -j ACCEPT\nCOMMIT\n"
        try namespace.restore(.ipv4, text)

        let id = TableID(.ipv4, .filter)
        let backend = Iptables(namespace: namespace.namespace, lock: testLock())
        let snapshot = try backend.snapshot(id)
        let forward = try #require(snapshot.builtinChain(.forward))
        #expect(forward.entries.count == half + 1)
        #expect(snapshot.observed.jumps.map(\.index) == [half / 2 + 1])
        #expect(snapshot.foreignChains.map(\.name) == ["KUBE-SERVICES"])
        #expect(snapshot.foreignChains.first?.entries.count == half)
        #expect(snapshot.podnetChain("PODNET-FORWARD")?.rules.map(\.rule) == [Rule(target: .accept)])

        // Read for a diff, without the foreign chains' rules: podnet's view is the same.
        let light = try backend.snapshot(id, foreignChainEntries: false)
        #expect(light.observed == snapshot.observed)
        #expect(!light.foreignChainEntriesRead && snapshot.foreignChainEntriesRead)
        #expect(light.foreignChains.map(\.name) == ["KUBE-SERVICES"])
        #expect(light.foreignChains.first?.entries.isEmpty == true)

        // Replace podnet's rule and move nothing else.
        let outcome = try backend.transact(id) { _ in
            [.replaceRule("PODNET-FORWARD", index: 0, old: Rule(target: .accept), new: Rule(target: .drop))]
        }
        #expect(outcome.committed)
        let saved = try namespace.savedRules(id, chain: "FORWARD")
        #expect(saved.count == half + 1)
        #expect(saved[half / 2 + 1] == "-A FORWARD -m comment --comment \"podnet: forward\" -j PODNET-FORWARD")
        #expect(try namespace.savedRules(id, chain: "PODNET-FORWARD") == ["-A PODNET-FORWARD -j DROP"])
        #expect(try namespace.savedRules(id, chain: "KUBE-SERVICES").count == half)
    }
}
