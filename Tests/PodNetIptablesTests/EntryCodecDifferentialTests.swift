import PodNet
import Testing
@testable import PodNetIptables

/// Pins the encoder's output for thousands of pseudo-random rules (every match and
/// target, odd masks, `+` interfaces, non-ASCII and maximal comments, opaque
/// extensions, and invalid values that must throw) to digests taken from the encoder
/// as it was before it was rewritten for speed: a rewrite must produce the same bytes,
/// and refuse the same rules, for every rule, not only for the golden and catalogue ones.
@Suite struct EntryCodecDifferentialTests {
    static let rulesPerBlock = 50
    static let blocks = 40

    /// FNV-1a 64 of each block of `rulesPerBlock` rules' encodings (bytes, or the
    /// word "error"), IPv4 blocks then IPv6 blocks.
    static let expected: [UInt64] = [
        0x2d820a8c86a17b8a, 0x3de2b31417772fb0, 0xe76ef64c419ec41f, 0x9824763514edb84b,
        0x5497c636adf71034, 0x8a4752ecce2953fb, 0x73b81c8436efd3e1, 0xf33cd7ec794e94fc,
        0x19b18f041076f6b5, 0xc516d2500f871c6e, 0x2cf9251ffa8e13d0, 0xef1be547c0472819,
        0xe63ce438ddc9d9fa, 0x23a695f55650afb7, 0x84df3ce49fce00e0, 0x6fcb4abb2bc0b2bb,
        0x2fb6389e0ea24582, 0x22dfbe47a0d592cc, 0x8c8454e9e4ff14c3, 0xb92cb9284db2b0fc,
        0xc505be242d9017ca, 0xc82eea4c0c6b92b7, 0xf621f1c1844fe2b4, 0x3029c753015220e5,
        0x7eadcc1f5a57bb68, 0xe1a7ced0f6669434, 0x1ddce1c186f0c13c, 0x886cff93214d8d7,
        0xa76b81689fc5be06, 0x5037f870a6d09bf, 0xc432eb7f2a575e62, 0xbef89e1514e74f28,
        0xf481a479c9fe4b7f, 0x8f410f7a0c39e69a, 0x404bc2b97395c56d, 0x54f3b72d9c89c44d,
        0xde05a9aa68babaa3, 0x6c993fc990b522e8, 0x58cc78e2729bef1, 0x6ff461caec5d2464,
        0x90c4d6d83a91c3a6, 0x5a41f1c2eed98d84, 0x1ab60aff7781edd2, 0x9187e924e24fee6c,
        0x4bd3722bddef37d2, 0x7f81b5e663d9f317, 0x23dec0046407db15, 0xbaf3627c0eca01ee,
        0x6a19a77f471811d0, 0xc7e4e68f85931fc1, 0x7ea748e09f0b1f1d, 0xee86b19409c8e58,
        0x7e2d1ffda86df87f, 0xc691a76954fd1b6c, 0x2fe71e27da4ee194, 0x666d04658e1a2c6a,
        0x7dd53f517d9c9a33, 0xae1da1b6c1a14fec, 0xb1eb8fa6715afb99, 0x845c6c4853682e1c,
        0xbf2b82404a6dad61, 0x18fd13835e331f08, 0x9ab0db7d90e5af8f, 0xf72f1c20992074df,
        0x14651ff9cb271d97, 0x743fde9011c7a50, 0x9cb026aff9355368, 0xc5b17056675a65dc,
        0xd27ea0207d75d4c9, 0x21afbc6f3dcd0571, 0xe2fd1917ee973404, 0x56ca2d49ae97dbf7,
        0xe62b110d6d159b25, 0x32b62cb60f394a57, 0xe6922120723a98b4, 0x8d1d73fedd41d1a9,
        0x4bda4fd1b05b51b7, 0xb44137d399053c5d, 0xe1feafc6a940f60b, 0xc414cacbc4f260c3,
    ]

    @Test func encodingMatchesThePreviousEncoder() {
        var digests: [UInt64] = [], encoded = 0
        for family in IPFamily.allCases {
            var generator = RuleGenerator(seed: family == .ipv4 ? 4 : 6, family: family)
            for _ in 0..<Self.blocks {
                var digest = FNV1a()
                for _ in 0..<Self.rulesPerBlock {
                    let rule = generator.rule()
                    do {
                        digest.add(try EntryCodec.encode(rule, family: family,
                                                         counters: PacketCounters(packets: 3, bytes: 1 << 33)))
                        encoded += 1
                    } catch {
                        // Which error a rule with several faults reports first is no contract.
                        digest.add(Array("error".utf8))
                    }
                }
                digests.append(digest.value)
            }
        }
        // Most rules must encode, or the digests would pin little but the refusals.
        #expect(encoded > Self.blocks * Self.rulesPerBlock)
        #expect(digests == Self.expected, "new digests: \(digests.map { "0x" + String($0, radix: 16) })")
    }
}

private struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        value = (value ^ 0xFF) &* 0x0000_0100_0000_01b3  // separates one entry from the next
    }
}

/// Deterministic pseudo-random rules (SplitMix64), covering every field the codec writes.
private struct RuleGenerator {
    var state: UInt64
    let family: IPFamily

    init(seed: UInt64, family: IPFamily) {
        state = seed
        self.family = family
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ n: Int) -> Bool { below(n) == 0 }
    mutating func bool() -> Bool { chance(2) }
    mutating func port() -> UInt16 { UInt16(truncatingIfNeeded: next()) }

    mutating func address(of family: IPFamily) -> IPAddress {
        family == .ipv4 ? IPAddress(ipv4: UInt32(truncatingIfNeeded: next())) : IPAddress(ipv6: next(), next())
    }

    mutating func address() -> IPAddress {
        // Now and then the other family, which must be refused.
        address(of: chance(40) ? (family == .ipv4 ? .ipv6 : .ipv4) : family)
    }

    mutating func addressMatch() -> AddressMatch? {
        guard chance(3) else { return nil }
        let base = address()
        let mask: IPAddress
        if bool() {
            mask = address(of: base.family)  // not contiguous
        } else {
            let bits = base.family.bitWidth
            let prefix = below(bits + 1)
            let all = (UInt64.max, UInt64.max)
            func take(_ word: UInt64, _ count: Int) -> UInt64 { count <= 0 ? 0 : count >= 64 ? word : word << (64 - count) }
            mask = base.family == .ipv4
                ? IPAddress(ipv4: prefix == 0 ? 0 : UInt32.max << (32 - prefix))
                : IPAddress(ipv6: take(all.0, prefix), take(all.1, prefix - 64))
        }
        return AddressMatch(address: base, mask: mask, negated: bool())
    }

    static let interfaceNames = ["", "+", "eth0", "veth+", "veth1234567890a", "cbr0", "x\u{E9}+", "\u{E9}t\u{E9}",
                                 "veth0123456789ab", "a"]

    mutating func interface() -> InterfaceMatch? {
        chance(3) ? InterfaceMatch(Self.interfaceNames[below(Self.interfaceNames.count)], negated: bool()) : nil
    }

    static let commentPieces = ["podnet: ", "hostport", " web-1 ", "tcp/8080", "\u{E9}", "\"", "'", "\\", "\u{1F600}",
                                "x", "0123456789"]

    mutating func comment() -> String {
        if chance(20) { return String(repeating: "c", count: 255) }
        if chance(30) { return String(repeating: "c", count: 256) }
        if chance(30) { return "nul\u{0}inside" }
        var text = ""
        for _ in 0..<below(12) { text += Self.commentPieces[below(Self.commentPieces.count)] }
        return text
    }

    mutating func ports() -> PortRange? {
        guard bool() else { return nil }
        let first = port()
        return bool() ? PortRange(first) : PortRange(first: first, last: chance(3) ? .max : first &+ UInt16(below(100)))
    }

    mutating func portMatch() -> PortMatch {
        PortMatch(sourcePorts: ports(), sourceNegated: bool(), destinationPorts: ports(), destinationNegated: bool())
    }

    mutating func optionalFlag() -> Bool? { chance(3) ? nil : bool() }

    mutating func match() -> Match {
        switch below(11) {
        case 0, 1: return .comment(comment())
        case 2:
            return .addressType(AddressTypeMatch(
                sourceTypes: AddressTypes(rawValue: UInt16(truncatingIfNeeded: next())), sourceNegated: bool(),
                destinationTypes: AddressTypes(rawValue: UInt16(truncatingIfNeeded: next())),
                destinationNegated: bool(), limitToInInterface: bool(), limitToOutInterface: bool()))
        case 3:
            return .conntrack(ConntrackMatch(states: ConntrackStates(rawValue: UInt16(truncatingIfNeeded: next())),
                                             negated: bool()))
        case 4:
            return .mark(MarkMatch(value: UInt32(truncatingIfNeeded: next()), mask: UInt32(truncatingIfNeeded: next()),
                                   negated: bool()))
        case 5:
            let flags = bool() ? TCPFlagsTest(mask: UInt8(below(256)), comparison: UInt8(below(256)), negated: bool())
                               : nil
            return .tcp(TCPMatch(ports: portMatch(), flags: flags, option: bool() ? UInt8(below(256)) : nil,
                                 optionNegated: bool()))
        case 6: return .udp(portMatch())
        case 7: return .sctp(portMatch())
        case 8:
            let directions: [MultiportMatch.Direction] = [.source, .destination, .either]
            return .multiport(MultiportMatch(direction: directions[below(3)],
                                             ports: (0..<below(chance(10) ? 17 : 9)).map { _ in ports() ?? PortRange(7) },
                                             negated: bool()))
        case 9:
            return .physdev(PhysdevMatch(inInterface: interface(), outInterface: interface(),
                                         isInNegated: optionalFlag(), isOutNegated: optionalFlag(),
                                         isBridgedNegated: optionalFlag()))
        default:
            return .opaque(opaque())
        }
    }

    static let extensionNames = ["limit", "statistic", "x", "", "\u{E9}t\u{E9}",
                                 String(repeating: "n", count: 28), String(repeating: "n", count: 29)]

    mutating func opaque() -> OpaqueExtension {
        let size = chance(15) ? below(20) : 8 * below(9)
        return OpaqueExtension(name: Self.extensionNames[below(Self.extensionNames.count)], revision: UInt8(below(4)),
                               data: (0..<size).map { _ in UInt8(truncatingIfNeeded: next()) })
    }

    mutating func chain() -> ChainName {
        ChainName("PODNET-" + String(repeating: "X", count: below(chance(10) ? 24 : 21)))
    }

    mutating func nat() -> NATTarget {
        let minAddress: IPAddress? = bool() ? address() : nil
        return NATTarget(minAddress: minAddress, maxAddress: minAddress == nil || bool() ? nil : address(),
                         ports: ports(), random: bool(), randomFully: bool(), persistent: bool())
    }

    mutating func target() -> Target {
        switch below(14) {
        case 0: return .fallThrough
        case 1: return .accept
        case 2: return .drop
        case 3: return .queue
        case 4: return .returnFromChain
        case 5: return .jump(chain())
        case 6: return .goto(chain())
        case 7: return .masquerade(MasqueradeTarget(ports: ports(), random: bool(), randomFully: bool()))
        case 8: return .dnat(nat())
        case 9: return .snat(nat())
        case 10: return .mark(MarkTarget(value: UInt32(truncatingIfNeeded: next()), mask: UInt32(truncatingIfNeeded: next())))
        case 11:
            let code = UInt32(below(10))
            let ipv4 = (family == .ipv4) != chance(10)  // now and then the other family's kind
            return .reject(ipv4 ? .ipv4(code) : .ipv6(code))
        case 12: return .jump(chance(20) ? "" : chain())
        default: return .opaque(opaque())
        }
    }

    mutating func rule() -> Rule {
        Rule(source: addressMatch(), destination: addressMatch(), inInterface: interface(), outInterface: interface(),
             proto: chance(3) ? ProtocolMatch(IPProtocol(number: UInt8(below(256))), negated: bool()) : nil,
             matches: (0..<below(5)).map { _ in match() }, target: target())
    }
}
