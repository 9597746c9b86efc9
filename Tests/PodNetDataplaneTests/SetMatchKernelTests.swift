import Foundation
import Testing
import PodNet
import PodNetIptables
import PodNetNetlink
import PodNetTestSupport

/// Rules that match ipsets, written through libiptc with the kernel's set indexes and
/// read back, with iptables-legacy(-save) as the oracle.
@Suite struct SetMatchKernelTests {
    static let rules = [
        Rule(matches: [.set(SetMatch("PODNET-B", .source)), .set(SetMatch("PODNET-A", .destination, negated: true))],
             target: .returnFromChain),
        Rule(matches: [.set(SetMatch("PODNET-A", .source, .destination))], target: .drop),
    ]
    static let saved = [
        "-A PODNET-T -m set --match-set PODNET-B src -m set ! --match-set PODNET-A dst -j RETURN",
        "-A PODNET-T -m set --match-set PODNET-A src,dst -j DROP",
    ]

    @Test(.enabled(if: KernelTest.enabled))
    func setMatchesAreWrittenAndReadAsIptablesDoes() throws {
        let namespace = try TestNamespace(prefix: "pnsetm")
        defer { namespace.delete() }
        // Two sets before podnet's, so that the indexes podnet's rules hold are not 0 and 1.
        for (name, type) in [("KUBE-X", "hash:ip"), ("KUBE-Y", "hash:ip"), ("PODNET-A", "hash:ip"), ("PODNET-B", "hash:net")] {
            try namespace.run(["ipset", "create", name, type])
        }
        let indexes = try IPSets(namespace: namespace.namespace).listing().indexes
        #expect(indexes.byName["PODNET-A"] == 2 && indexes.byName["PODNET-B"] == 3)
        let lock = XtablesLock(path: NSTemporaryDirectory() + "podnet-setm-\(getpid()).lock", wait: .seconds(5))
        var iptables = Iptables(namespace: namespace.namespace, lock: lock)
        iptables.sets = indexes
        let id = TableID(.ipv4, .filter)
        try iptables.transact(id) { _ in
            [.createChain(ChainName("PODNET-T"))] + Self.rules.map { .appendRule(ChainName("PODNET-T"), $0) }
        }
        let save = try namespace.run(["iptables-legacy-save", "-t", "filter"]).split(separator: "\n").map(String.init)
        #expect(save.filter { $0.hasPrefix("-A PODNET-T") } == Self.saved)
        #expect(try namespace.run(["ipset", "list", "PODNET-A"]).contains("References: 2"))

        // What iptables-legacy writes reads back as the same typed rules.
        try namespace.run(["iptables-legacy", "-A", "PODNET-T", "-m", "set", "--match-set", "PODNET-A", "src,dst", "-j", "DROP"])
        let read = try #require(try iptables.snapshot(id).podnetChain(ChainName("PODNET-T"))).rules.map(\.rule)
        #expect(read == Self.rules + [Self.rules[1]])
        #expect(IptablesSaveText.render(read[0]) == String(Self.saved[0].dropFirst("-A PODNET-T ".count)))

        // Without the kernel's indexes a set match cannot be read as one, nor written.
        let blind = try #require(try Iptables(namespace: namespace.namespace, lock: lock).snapshot(id)
            .podnetChain(ChainName("PODNET-T"))).rules.map(\.rule)
        #expect(blind[0] != Self.rules[0])
        #expect(throws: RuleEncodingError.unknownIPSet("PODNET-Z")) {
            try EntryCodec.encode(Rule(matches: [.set(SetMatch("PODNET-Z", .source))], target: .drop), family: .ipv4,
                                  sets: indexes)
        }
    }

    /// A match on a hash:net,iface set by bridge port (IPSET_FLAG_PHYSDEV in the match's
    /// flags) is written and read back with the flag; iptables-save prints it as a plain
    /// `src,src`, and the same text restored (iptables-legacy, which has no option for the
    /// flag) reads back as another rule, so an apply would repair it.
    @Test(.enabled(if: KernelTest.enabled))
    func aBridgePortMatchKeepsItsFlag() throws {
        let namespace = try TestNamespace(prefix: "pnsetp")
        defer { namespace.delete() }
        try namespace.run(["ipset", "create", "PODNET-P", "hash:net,iface"])
        let indexes = try IPSets(namespace: namespace.namespace).listing().indexes
        let lock = XtablesLock(path: NSTemporaryDirectory() + "podnet-setp-\(getpid()).lock", wait: .seconds(5))
        var iptables = Iptables(namespace: namespace.namespace, lock: lock)
        iptables.sets = indexes
        let rule = Rule(matches: [.set(SetMatch("PODNET-P", .source, .source, negated: true, bridgePorts: true))], target: .drop)
        let id = TableID(.ipv4, .filter)
        try iptables.transact(id) { _ in [.createChain(ChainName("PODNET-T")), .appendRule(ChainName("PODNET-T"), rule)] }
        let save = try namespace.run(["iptables-legacy-save", "-t", "filter"]).split(separator: "\n").filter { $0.hasPrefix("-A PODNET-T") }
        #expect(save == ["-A PODNET-T -m set ! --match-set PODNET-P src,src -j DROP"])
        try namespace.run(["iptables-legacy", "-A", "PODNET-T", "-m", "set", "!", "--match-set", "PODNET-P", "src,src", "-j", "DROP"])
        let read = try #require(try iptables.snapshot(id).podnetChain(ChainName("PODNET-T"))).rules.map(\.rule)
        var withoutFlag = rule
        withoutFlag.matches = [.set(SetMatch("PODNET-P", .source, .source, negated: true))]
        #expect(read == [rule, withoutFlag])
    }
}
