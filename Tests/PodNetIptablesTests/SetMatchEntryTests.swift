import PodNet
import Testing
@testable import PodNetIptables

/// A rule holds a set's kernel index, which only the indexes read beside the rules
/// turn into a name. An entry of podnet's chains whose set podnet does not know, or
/// which podnet cannot decode at all, is still read and written back as it was.
@Suite struct SetMatchEntryTests {
    static let indexes = IPSetIndexes([(name: "KUBE-X", index: 0), (name: "PODNET-A", index: 5)])
    static let rule = Rule(matches: [.set(SetMatch("PODNET-A", .source))], target: .drop)

    @Test func aSetMatchOfAnUnknownSetStaysAsItsBytes() throws {
        let bytes = try EntryCodec.encode(Self.rule, family: .ipv4, sets: Self.indexes)
        #expect(try EntryCodec.decode(bytes, family: .ipv4, targetName: nil, sets: Self.indexes).rule == Self.rule)
        for other in [IPSetIndexes(), IPSetIndexes([(name: "KUBE-X", index: 0)])] {
            let read = EntryCodec.decodeOrKeep(bytes, family: .ipv4, targetName: nil, sets: other)
            guard case .opaque(let ext)? = read.rule.matches.first else {
                Issue.record("not opaque: \(read.rule)")
                continue
            }
            #expect(ext.name == "set" && read.rule.target == .drop)
            #expect(try EntryCodec.encode(read.rule, family: .ipv4, sets: other) == bytes)
        }
    }

    @Test func anUndecodableEntryWithASetMatchIsWrittenBackWithoutTheIndexes() throws {
        var bytes = try EntryCodec.encode(Self.rule, family: .ipv4, sets: Self.indexes)
        // `-f`, which the rule model lacks.
        bytes[EntryLayout.ipv4.flags] |= EntryLayout.ipv4.fragmentFlag!
        for sets in [Self.indexes, IPSetIndexes()] {
            let read = EntryCodec.decodeOrKeep(bytes, family: .ipv4, targetName: nil, sets: sets)
            guard case .undecoded(let entry) = read.rule.target else {
                Issue.record("not undecoded: \(read.rule)")
                continue
            }
            #expect(entry.summary.hasPrefix("-f -m set -j DROP"), "\(entry.summary)")
            #expect(try EntryCodec.encode(read.rule, family: .ipv4, counters: read.counters) == bytes)
        }
    }
}
