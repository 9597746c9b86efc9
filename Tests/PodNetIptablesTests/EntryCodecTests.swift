import PodNet
import Testing
@testable import PodNetIptables

@Suite struct EntryCodecTests {
    @Test(arguments: IPFamily.allCases)
    func everyModelledRuleRoundTrips(_ family: IPFamily) throws {
        for rule in RuleCatalogue.all(family) {
            let counters = PacketCounters(packets: 7, bytes: 1 << 40)
            let bytes = try EntryCodec.encode(rule, family: family, counters: counters)
            #expect(bytes.count % 8 == 0)
            // Fall-through entries are told apart from jumps by libiptc's name for them.
            let decoded = try EntryCodec.decode(bytes, family: family, targetName: "")
            #expect(decoded == DecodedEntry(rule: rule, counters: counters), "\(IptablesSaveText.render(rule))")
            // Nothing modelled may fall back to opaque.
            let text = IptablesSaveText.render(decoded.rule)
            #expect(!text.contains("opaque"), "\(text)")
        }
    }

    @Test func jumpAndGotoNeedLibiptcsName() throws {
        var kernel = try EntryCodec.encode(Rule(target: .goto("PODNET-A")), family: .ipv6)
        // As the kernel holds it: standard target name "" and a jump offset.
        let target = Int(kernel.host(UInt16.self, at: 140))
        kernel.replaceSubrange((target + 2)..<(target + 31), with: [UInt8](repeating: 0, count: 29))
        kernel.setHost(Int32(1234), at: target + 32)
        #expect(throws: EntryDecodingError.unresolvedJump(verdict: 1234)) {
            try EntryCodec.decode(kernel, family: .ipv6, targetName: nil)
        }
        let decoded = try EntryCodec.decode(kernel, family: .ipv6, targetName: "PODNET-A")
        #expect(decoded.rule.target == .goto("PODNET-A"))
    }

    @Test func addressesAreStoredMasked() throws {
        let rule = Rule(source: AddressMatch(address: IPAddress("10.1.2.3")!, mask: IPAddress("255.255.0.0")!),
                        target: .accept)
        let bytes = try EntryCodec.encode(rule, family: .ipv4)
        #expect(Array(bytes[0..<4]) == [10, 1, 0, 0])
        #expect(Array(bytes[8..<12]) == [255, 255, 0, 0])
    }

    @Test func ipv6ProtocolSetsTheProtoFlag() throws {
        let bytes = try EntryCodec.encode(Rule(proto: ProtocolMatch(.tcp), target: .accept), family: .ipv6)
        #expect(bytes[128] == 6)
        #expect(bytes[131] == 0x01)
    }

    // MARK: malformed input never traps

    static let sample = try! EntryCodec.encode(RuleCatalogue.natPostrouting(.ipv4)[0], family: .ipv4)

    @Test func everyTruncationIsAnError() {
        for length in 0..<EntryCodecTests.sample.count {
            #expect(throws: EntryDecodingError.self) {
                try EntryCodec.decode(Array(EntryCodecTests.sample[0..<length]), family: .ipv4, targetName: "")
            }
        }
    }

    @Test func everySingleByteCorruptionDecodesOrThrows() {
        var accepted = 0, rejected = 0
        for index in EntryCodecTests.sample.indices {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0xFF] where EntryCodecTests.sample[index] != value {
                var bytes = EntryCodecTests.sample
                bytes[index] = value
                if (try? EntryCodec.decode(bytes, family: .ipv4, targetName: "")) != nil { accepted += 1 } else {
                    rejected += 1
                }
            }
        }
        // Both outcomes happen: comment text and masks are free bytes, offsets are not.
        #expect(accepted > 0)
        #expect(rejected > 0)
    }

    @Test func specificErrors() throws {
        let base = try EntryCodec.encode(Rule(matches: [.comment("x")], target: .accept), family: .ipv4)
        func decode(_ edit: (inout [UInt8]) -> Void) throws {
            var bytes = base
            edit(&bytes)
            _ = try EntryCodec.decode(bytes, family: .ipv4, targetName: "")
        }
        #expect(throws: EntryDecodingError.truncated(length: 50, needed: 112)) {
            _ = try EntryCodec.decode(Array(base[0..<50]), family: .ipv4, targetName: "")
        }
        #expect(throws: EntryDecodingError.badOffsets(targetOffset: 100, nextOffset: base.count, length: base.count)) {
            try decode { $0.setHost(UInt16(100), at: 88) }
        }
        #expect(throws: EntryDecodingError.badExtensionSize(offset: 112, size: 24)) {
            try decode { $0.setHost(UInt16(24), at: 112) }
        }
        #expect(throws: EntryDecodingError.badExtensionName(offset: 112)) {
            try decode { $0.replaceSubrange(114..<143, with: [UInt8](repeating: 0x41, count: 29)) }
        }
        #expect(throws: EntryDecodingError.unrepresentable(.source)) {
            try decode { $0[0] = 10 }  // address bits outside the (zero) mask
        }
        #expect(throws: EntryDecodingError.unrepresentable(.flags)) {
            try decode { $0[82] = 0x01 }  // IPT_F_FRAG: -f is not modelled
        }
        #expect(throws: EntryDecodingError.unrepresentable(.inInterface)) {
            try decode { $0[16] = 0x65 }  // a name with an empty mask
        }
        #expect(throws: EntryDecodingError.gotoWithoutChain) {
            try decode { $0[82] = 0x02 }
        }
        let target = base.count - 40
        #expect(throws: EntryDecodingError.badStandardTarget(size: 40, verdict: -3)) {
            try decode {
                $0.replaceSubrange((target + 2)..<(target + 31), with: [UInt8](repeating: 0, count: 29))
                $0.setHost(Int32(-3), at: target + 32)
            }
        }
    }

    // MARK: encoding refuses what would be truncated

    @Test func encodingErrors() {
        func encode(_ rule: Rule, _ family: IPFamily = .ipv4) throws { _ = try EntryCodec.encode(rule, family: family) }
        #expect(throws: RuleEncodingError.interfaceNameTooLong("veth0123456789ab")) {
            try encode(Rule(inInterface: InterfaceMatch("veth0123456789ab"), target: .accept))
        }
        let long = String(repeating: "c", count: 256)
        #expect(throws: RuleEncodingError.invalidComment(long)) { try encode(Rule(matches: [.comment(long)], target: .accept)) }
        #expect(throws: RuleEncodingError.tooManyMultiportPorts(16)) {
            try encode(Rule(matches: [.multiport(MultiportMatch(direction: .destination,
                                                                ports: (1...16).map { PortRange(UInt16($0)) }))],
                            target: .accept))
        }
        #expect(throws: RuleEncodingError.self) {
            try encode(Rule(source: AddressMatch(RuleCatalogue.network("10.0.0.0/8")), target: .accept), .ipv6)
        }
        #expect(throws: RuleEncodingError.self) { try encode(Rule(target: .reject(.ipv6(4)))) }
        #expect(throws: RuleEncodingError.self) {
            try encode(Rule(target: .dnat(NATTarget(address: IPAddress("fd00::1")))))
        }
        let chain = ChainName(String(repeating: "P", count: 29))
        #expect(throws: RuleEncodingError.invalidChainName(chain)) { try encode(Rule(target: .jump(chain))) }
        #expect(throws: RuleEncodingError.invalidExtension(name: "X", dataSize: 3)) {
            try encode(Rule(target: .opaque(OpaqueExtension(name: "X", revision: 0, data: [1, 2, 3]))))
        }
    }
}
