import Testing
import PodNet
import PodNetTestSupport
@testable import PodNetNetlink

/// The ip_set backend against the kernel, with `ipset` (Debian's, a separate
/// implementation of the same protocol) as the oracle.
@Suite struct IPSetKernelTests {
    static func host(_ text: String) -> IPSetEntry { IPSetEntry(host: IPAddress(text)!) }
    static func net(_ text: String, nomatch: Bool = false) -> IPSetEntry {
        IPSetEntry(try! IPNetwork(parsing: text), nomatch: nomatch)
    }

    /// `ipset save` without the create lines' header details (hashsize, maxelem,
    /// bucketsize, initval), which the kernel picks.
    static func saved(_ namespace: TestNamespace) throws -> [String] {
        try namespace.run(["ipset", "save"]).split(separator: "\n").map { line in
            let words = line.split(separator: " ")
            return words.first == "create" ? words.prefix(5).joined(separator: " ") : String(line)
        }.sorted()
    }

    @Test(.enabled(if: KernelTest.enabled))
    func createFillListAndDestroyAsIpsetSeesThem() throws {
        let namespace = try TestNamespace(prefix: "pnipset")
        defer { namespace.delete() }
        let sets = try IPSets(namespace: namespace.namespace)
        try sets.create(IPSetState(name: "PODNET-PODS4", type: .hashIP, family: .ipv4))
        try sets.create(IPSetState(name: "PODNET-BLOCK6", type: .hashNet, family: .ipv6))
        try sets.add([Self.host("10.244.2.7"), Self.host("10.244.1.3")], to: "PODNET-PODS4")
        try sets.add([Self.net("fd00::/48"), Self.net("fd00:0:0:1::/64", nomatch: true), Self.host("fd00:1::9")],
                     to: "PODNET-BLOCK6")
        try namespace.run(["ipset", "create", "KUBE-FOREIGN", "hash:ip"])
        try namespace.run(["ipset", "add", "KUBE-FOREIGN", "192.0.2.1"])

        #expect(try Self.saved(namespace) == [
            "add KUBE-FOREIGN 192.0.2.1",
            "add PODNET-BLOCK6 fd00:0:0:1::/64 nomatch",
            "add PODNET-BLOCK6 fd00:1::9",
            "add PODNET-BLOCK6 fd00::/48",
            "add PODNET-PODS4 10.244.1.3",
            "add PODNET-PODS4 10.244.2.7",
            "create KUBE-FOREIGN hash:ip family inet",
            "create PODNET-BLOCK6 hash:net family inet6",
            "create PODNET-PODS4 hash:ip family inet",
        ])
        let listed = try sets.list()
        #expect(Set(listed) == [
            IPSetState(name: "PODNET-PODS4", type: .hashIP, family: .ipv4,
                       entries: [Self.host("10.244.2.7"), Self.host("10.244.1.3")]),
            IPSetState(name: "PODNET-BLOCK6", type: .hashNet, family: .ipv6,
                       entries: [Self.net("fd00::/48"), Self.net("fd00:0:0:1::/64", nomatch: true), Self.host("fd00:1::9")]),
            IPSetState(name: "KUBE-FOREIGN", type: .hashIP, family: .ipv4, entries: [Self.host("192.0.2.1")]),
        ])

        // The headers-only listing (what a commit needs) gives the same index of each set.
        let indexes = try sets.indexes()
        #expect(indexes == (try sets.listing()).indexes)
        #expect(Set(indexes.byName.keys) == ["PODNET-PODS4", "PODNET-BLOCK6", "KUBE-FOREIGN"])

        try sets.delete([Self.host("10.244.2.7")], from: "PODNET-PODS4")
        try sets.destroy("PODNET-BLOCK6")
        #expect(try Self.saved(namespace) == [
            "add KUBE-FOREIGN 192.0.2.1",
            "add PODNET-PODS4 10.244.1.3",
            "create KUBE-FOREIGN hash:ip family inet",
            "create PODNET-PODS4 hash:ip family inet",
        ])
    }

    /// Thousands of members go many to a message, as `ipset restore` sends them: all
    /// land; a refused entry in the middle of a message (already there) is reported in
    /// ipset's words and the entries before it are in the set; `-exist` takes it.
    @Test(.enabled(if: KernelTest.enabled))
    func manyMembersToAMessage() throws {
        let namespace = try TestNamespace(prefix: "pnipsetm")
        defer { namespace.delete() }
        let sets = try IPSets(namespace: namespace.namespace)
        try sets.create(IPSetState(name: "PODNET-MANY4", type: .hashIP, family: .ipv4))
        let entries = (0..<3000).map { Self.host("10.\(1 + $0 / 250).\($0 % 250).1") }
        try sets.add(entries, to: "PODNET-MANY4")
        let members = try namespace.run(["ipset", "list", "PODNET-MANY4"]).split(separator: "\n").filter { $0.hasPrefix("10.") }
        #expect(Set(members.map(String.init)) == Set(entries.map(\.description)))

        // Two messages' worth: 95 new entries with an old one at position 70.
        let fresh = (0..<(2 * IPSetMessages.entriesPerMessage - 1)).map { Self.host("10.200.0.\(1 + $0)") }
        let mixed = Array(fresh[..<70]) + [entries[5]] + Array(fresh[70...])
        #expect(throws: NetlinkOperationError.self) { try sets.add(mixed, to: "PODNET-MANY4") }
        do {
            try sets.add(mixed, to: "PODNET-MANY4")
        } catch {
            #expect("\(error)".contains("ipset: the set or element already exists"), "\(error)")
        }
        let after = try namespace.run(["ipset", "list", "PODNET-MANY4"]).split(separator: "\n").filter { $0.hasPrefix("10.200.") }
        // The first message went through whole; the second stopped at the refused entry.
        #expect(Set(after.map(String.init)) == Set(fresh[..<70].map(\.description)))
        try sets.add(mixed, to: "PODNET-MANY4", ifAbsent: true)
        try sets.delete(entries + fresh, from: "PODNET-MANY4")
        #expect(try namespace.run(["ipset", "list", "PODNET-MANY4"]).split(separator: "\n").filter { $0.hasPrefix("10.") }.isEmpty)
    }

    /// A swap under a rule that matches the set: the rule sees the other set's members
    /// at once. The kernel refuses to swap a hash:ip with a hash:net (their features
    /// differ), which is why podnet's set names carry the type. A set a rule matches
    /// cannot be destroyed: ipset's own error number, in ipset's words.
    @Test(.enabled(if: KernelTest.enabled))
    func swapUnderARuleThatMatchesTheSet() throws {
        let namespace = try TestNamespace(prefix: "pnipset")
        defer { namespace.delete() }
        let sets = try IPSets(namespace: namespace.namespace)
        try sets.create(IPSetState(name: "PODNET-X", type: .hashIP, family: .ipv4))
        try sets.add([Self.host("10.244.1.3")], to: "PODNET-X")
        try namespace.run(["iptables-legacy", "-A", "INPUT", "-m", "set", "--match-set", "PODNET-X", "src", "-j", "ACCEPT"])
        try sets.create(IPSetState(name: "PODNET-Y", type: .hashIP, family: .ipv4))
        try sets.add([Self.host("10.244.9.9")], to: "PODNET-Y")
        try sets.swap("PODNET-Y", "PODNET-X")
        let listing = try namespace.run(["ipset", "list", "PODNET-X"])
        #expect(listing.contains("References: 1") && listing.contains("10.244.9.9") && !listing.contains("10.244.1.3"))

        try sets.create(IPSetState(name: "PODNET-N", type: .hashNet, family: .ipv4))
        #expect {
            try sets.swap("PODNET-N", "PODNET-X")
        } throws: { error in
            guard case .failed(_, _, .kernel(_, _, let reason)) = error as? NetlinkOperationError else { return false }
            return reason.errno == 4102 && reason.description.contains("cannot be swapped")
        }
        #expect {
            try sets.destroy("PODNET-X")
        } throws: { error in
            guard case .failed(let command, _, .kernel(_, _, let reason)) = error as? NetlinkOperationError else { return false }
            return command == "ipset destroy PODNET-X" && reason.errno == 4100
                && reason.description.contains("in use by a rule")
        }
        try sets.destroy("PODNET-Y")
    }

    @Test(.enabled(if: KernelTest.enabled))
    func addingAMemberTwiceIsRefusedUnlessTolerated() throws {
        let namespace = try TestNamespace(prefix: "pnipset")
        defer { namespace.delete() }
        let sets = try IPSets(namespace: namespace.namespace)
        try sets.create(IPSetState(name: "PODNET-Z", type: .hashIP, family: .ipv4))
        try sets.add([Self.host("10.244.1.3")], to: "PODNET-Z")
        #expect(throws: NetlinkOperationError.self) { try sets.add([Self.host("10.244.1.3")], to: "PODNET-Z") }
        try sets.add([Self.host("10.244.1.3"), Self.host("10.244.1.4")], to: "PODNET-Z", ifAbsent: true)
        try sets.delete([Self.host("10.244.1.9"), Self.host("10.244.1.4")], from: "PODNET-Z", ifPresent: true)
        #expect(throws: NetlinkOperationError.self) { try sets.delete([Self.host("10.244.1.9")], from: "PODNET-Z") }
        #expect(try sets.list() == [IPSetState(name: "PODNET-Z", type: .hashIP, family: .ipv4,
                                               entries: [Self.host("10.244.1.3")])])
    }

    /// A set of thousands of members spans many dump messages, each naming the set.
    @Test(.enabled(if: KernelTest.enabled))
    func aLargeSetIsListedWhole() throws {
        let namespace = try TestNamespace(prefix: "pnipset")
        defer { namespace.delete() }
        let sets = try IPSets(namespace: namespace.namespace)
        try sets.create(IPSetState(name: "PODNET-BIG", type: .hashIP, family: .ipv4))
        let members = (0..<6000).map { IPSetEntry(host: IPAddress(ipv4: 0x0A00_0000 + UInt32($0))) }
        try sets.add(members, to: "PODNET-BIG")
        #expect(try sets.list().first?.entries == Set(members))
        #expect(try namespace.run(["ipset", "list", "PODNET-BIG"]).contains("Number of entries: 6000"))
    }
}
