import PodNet
import PodNetTestSupport
import Testing
@testable import PodNetIptables

/// Rules written by iptables-legacy(-restore) are read back through libiptc and
/// rendered exactly as iptables-legacy-save prints them.
@Suite(.serialized) struct ObservationKernelTests {
    static let tables: [(TableID, String)] = [
        (TableID(.ipv4, .filter), OracleRules.ipv4Filter), (TableID(.ipv4, .nat), OracleRules.ipv4Nat),
        (TableID(.ipv6, .filter), OracleRules.ipv6Filter), (TableID(.ipv6, .nat), OracleRules.ipv6Nat),
    ]

    @Test(.enabled(if: KernelTest.enabled))
    func podnetChainsRenderAsIptablesSavePrintsThem() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let backend = Iptables(namespace: namespace.namespace)
        var compared = 0
        for (id, text) in Self.tables {
            try namespace.restore(id.family, text)
            let snapshot = try backend.snapshot(id)
            #expect(!snapshot.podnetChains.isEmpty)
            for chain in snapshot.podnetChains {
                let rendered = chain.rules.map { IptablesSaveText.appendLine($0.rule, chain: chain.name) }
                let saved = try namespace.savedRules(id, chain: chain.name)
                #expect(rendered == saved, "\(id) \(chain.name)")
                #expect(chain.rules.allSatisfy { !IptablesSaveText.render($0.rule).contains("opaque") })
                compared += saved.count
            }
        }
        #expect(compared >= 40)
    }

    @Test(.enabled(if: KernelTest.enabled))
    func builtinChainsPositionForeignEntriesAndDecodePodnetJumps() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        try namespace.restore(.ipv4, OracleRules.ipv4Filter)
        let id = TableID(.ipv4, .filter)
        let snapshot = try Iptables(namespace: namespace.namespace).snapshot(id)
        let forward = try #require(snapshot.builtinChain(.forward))
        #expect(forward.policy == .accept)
        let kinds = forward.entries.map { entry -> String in
            if case .podnetJump(let jump) = entry { return "podnet " + IptablesSaveText.render(jump.rule) }
            return "foreign"
        }
        #expect(kinds == ["podnet -m comment --comment \"podnet: forward\" -j PODNET-F", "foreign", "foreign",
                          "foreign", "podnet -m comment --comment \"podnet: goto\" -g PODNET-G"])
        // Foreign entries decode on demand to what iptables-legacy-save prints.
        let saved = try namespace.savedRules(id, chain: "FORWARD")
        for (index, entry) in forward.entries.enumerated() {
            let rule: Rule
            switch entry {
            case .podnetJump(let jump): rule = jump.rule
            case .foreign(let foreign): rule = try foreign.decode().rule
            }
            #expect(IptablesSaveText.appendLine(rule, chain: "FORWARD") == saved[index])
        }
        let observed = snapshot.observed
        #expect(observed.jumps.map(\.index) == [0, 4])
        #expect(observed.builtinRuleCounts[.forward] == 5)
        #expect(observed.chains.map(\.name) == ["PODNET-F", "PODNET-G"])
        #expect(snapshot.foreignChains.map(\.name) == ["FOREIGN"])
    }

    /// Unmodelled extensions stay opaque and re-encode to the kernel's bytes; an
    /// unmodelled header field (-f) is an error naming table, chain and index.
    @Test(.enabled(if: KernelTest.enabled))
    func foreignExtensionsRoundTripByteForByte() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        var opaque: Set<String> = []
        for (id, text) in [(TableID(.ipv4, .filter), OracleRules.ipv4Filter),
                           (TableID(.ipv6, .filter), OracleRules.ipv6Filter)] {
            try namespace.restore(id.family, text)
            let snapshot = try Iptables(namespace: namespace.namespace).snapshot(id)
            let foreign = try #require(snapshot.foreignChains.first { $0.name == "FOREIGN" })
            for entry in foreign.entries {
                let result = Result { try entry.decode() }
                guard case .success(let decoded) = result else {
                    let message = result.failureDescription
                    #expect(message == "\(id) chain FOREIGN rule \(entry.index): header field flags holds a value podnet does not model")
                    opaque.insert("-f")
                    continue
                }
                for case .opaque(let ext) in decoded.rule.matches { opaque.insert(ext.name) }
                if case .opaque(let ext) = decoded.rule.target { opaque.insert(ext.name) }
                let encoded = try EntryCodec.encode(decoded.rule, family: id.family, counters: decoded.counters)
                let standard: String
                switch decoded.rule.target {
                case .accept: standard = "ACCEPT"
                case .drop: standard = "DROP"
                case .jump(let chain): standard = chain.rawValue
                default: standard = ""
                }
                #expect(hex(encoded) == hex(libiptcInputForm(entry.raw.bytes, family: id.family, standardName: standard)))
            }
        }
        // conntrack appears for `-m state`, which iptables writes as conntrack with its alias flag.
        #expect(opaque == ["limit", "statistic", "LOG", "string", "conntrack", "hl", "-f"])
    }
}

extension Result {
    var failureDescription: String? {
        guard case .failure(let error) = self else { return nil }
        return "\(error)"
    }
}
