import PodNet

/// Extension matches <-> their kernel data, at the revisions iptables 1.8.9 uses.
///
/// Decoding is total: data that does not decode to a typed match, or whose typed
/// value would not re-encode to exactly the same bytes (an unmodelled option, a
/// foreign revision, odd padding), stays an opaque extension. So every match
/// round-trips byte for byte, and a typed match always means "iptables would print
/// exactly this".
enum MatchCodec {
    /// The match's extension header; its data is `head.dataSize` bytes.
    static func head(_ match: Match) -> ExtensionHead {
        switch match {
        case .comment: return ExtensionHead(name: "comment", revision: 0, dataSize: commentSize)
        case .addressType: return ExtensionHead(name: "addrtype", revision: 1, dataSize: 8)
        case .conntrack: return ExtensionHead(name: "conntrack", revision: 3, dataSize: 168)
        case .mark: return ExtensionHead(name: "mark", revision: 1, dataSize: 16)
        case .tcp: return ExtensionHead(name: "tcp", revision: 0, dataSize: 16)
        case .udp: return ExtensionHead(name: "udp", revision: 0, dataSize: 16)
        case .sctp: return ExtensionHead(name: "sctp", revision: 0, dataSize: SCTP.size)
        case .multiport: return ExtensionHead(name: "multiport", revision: 1, dataSize: 48)
        case .physdev: return ExtensionHead(name: "physdev", revision: 0, dataSize: 72)
        case .set: return ExtensionHead(name: "set", revision: 4, dataSize: SetInfo.size)
        case .opaque(let ext): return ExtensionHead(name: ext.name, revision: ext.revision, dataSize: ext.data.count)
        }
    }

    /// struct xt_comment_info: the text, NUL-padded.
    private static let commentSize = 256

    /// Writes the match's data at `data.base`, into `head(match).dataSize` zeroed bytes.
    static func writeData(_ match: Match, into data: inout FieldWriter,
                          sets: IPSetIndexes = IPSetIndexes()) throws(RuleEncodingError) {
        switch match {
        case .comment(let text):
            guard data.setFixedString(text, at: 0, length: commentSize) else { throw .invalidComment(text) }
        case .addressType(let m):
            // struct xt_addrtype_info_v1
            data.setHost(m.sourceTypes.rawValue, at: 0)
            data.setHost(m.destinationTypes.rawValue, at: 2)
            var flags: UInt32 = 0
            if m.sourceNegated { flags |= 0x1 }
            if m.destinationNegated { flags |= 0x2 }
            if m.limitToInInterface { flags |= 0x4 }
            if m.limitToOutInterface { flags |= 0x8 }
            data.setHost(flags, at: 4)
        case .conntrack(let m):
            // struct xt_conntrack_mtinfo3: only match_flags, invert_flags and state_mask.
            data.setHost(Conntrack.stateFlag, at: Conntrack.matchFlags)
            data.setHost(m.negated ? Conntrack.stateFlag : 0, at: Conntrack.invertFlags)
            data.setHost(m.states.rawValue, at: Conntrack.stateMask)
        case .mark(let m):
            // struct xt_mark_mtinfo1
            data.setHost(m.value, at: 0)
            data.setHost(m.mask, at: 4)
            data[8] = m.negated ? 1 : 0
        case .tcp(let m):
            // struct xt_tcp
            var invert = setPorts(m.ports, into: &data, source: 0, destination: 4)
            data[8] = m.option ?? 0
            data[9] = m.flags?.mask ?? 0
            data[10] = m.flags?.comparison ?? 0
            if m.flags?.negated == true { invert |= 0x04 }
            if m.optionNegated { invert |= 0x08 }
            data[11] = invert
        case .udp(let m):
            // struct xt_udp
            data[8] = setPorts(m, into: &data, source: 0, destination: 4)
        case .sctp(let m):
            SCTP.write(m, into: &data)
        case .multiport(let m):
            try Multiport.write(m, into: &data)
        case .physdev(let m):
            try Physdev.write(m, into: &data)
        case .set(let m):
            try SetInfo.write(m, into: &data, sets: sets)
        case .opaque(let ext):
            data.set(ext.data, at: 0)
        }
    }

    /// The match as an extension on its own.
    static func encode(_ match: Match, family: IPFamily,
                       sets: IPSetIndexes = IPSetIndexes()) throws(RuleEncodingError) -> OpaqueExtension {
        if case .opaque(let ext) = match { return ext }
        return try OpaqueExtension(head(match)) { data throws(RuleEncodingError) in
            try writeData(match, into: &data, sets: sets)
        }
    }

    /// A set match whose index `sets` does not name stays opaque.
    static func decode(_ raw: OpaqueExtension, family: IPFamily, sets: IPSetIndexes = IPSetIndexes()) -> Match {
        if let typed = typed(raw, sets: sets), let again = try? encode(typed, family: family, sets: sets), again == raw {
            return typed
        }
        return .opaque(raw)
    }

    /// The typed reading of known data, not yet checked for a byte-exact round trip.
    private static func typed(_ raw: OpaqueExtension, sets: IPSetIndexes) -> Match? {
        let data = raw.data
        switch (raw.name, raw.revision, data.count) {
        case ("comment", 0, commentSize):
            return data.fixedString(at: 0, length: commentSize).map(Match.comment)
        case ("addrtype", 1, 8):
            let flags = data.host(UInt32.self, at: 4)
            return .addressType(AddressTypeMatch(
                sourceTypes: AddressTypes(rawValue: data.host(UInt16.self, at: 0)),
                sourceNegated: flags & 0x1 != 0,
                destinationTypes: AddressTypes(rawValue: data.host(UInt16.self, at: 2)),
                destinationNegated: flags & 0x2 != 0,
                limitToInInterface: flags & 0x4 != 0, limitToOutInterface: flags & 0x8 != 0))
        case ("conntrack", 3, 168):
            return .conntrack(ConntrackMatch(
                states: ConntrackStates(rawValue: data.host(UInt16.self, at: Conntrack.stateMask)),
                negated: data.host(UInt16.self, at: Conntrack.invertFlags) & Conntrack.stateFlag != 0))
        case ("mark", 1, 16):
            return .mark(MarkMatch(value: data.host(UInt32.self, at: 0), mask: data.host(UInt32.self, at: 4),
                                   negated: data[8] != 0))
        case ("tcp", 0, 16):
            let invert = data[11]
            let flags = data[9] != 0 || data[10] != 0 || invert & 0x04 != 0
                ? TCPFlagsTest(mask: data[9], comparison: data[10], negated: invert & 0x04 != 0) : nil
            return .tcp(TCPMatch(ports: ports(data, source: 0, destination: 4, invert: invert), flags: flags,
                                 option: data[8] == 0 ? nil : data[8], optionNegated: invert & 0x08 != 0))
        case ("udp", 0, 16):
            return .udp(ports(data, source: 0, destination: 4, invert: data[8]))
        case ("sctp", 0, SCTP.size):
            return SCTP.decode(data).map(Match.sctp)
        case ("multiport", 1, 48):
            return Multiport.decode(data).map(Match.multiport)
        case ("physdev", 0, 72):
            return Physdev.decode(data).map(Match.physdev)
        case ("set", 4, SetInfo.size):
            return SetInfo.decode(data, sets: sets).map(Match.set)
        default:
            return nil
        }
    }

    /// tcp and udp keep "any port" as the range 0:65535; returns the invert bits.
    private static func setPorts(_ m: PortMatch, into data: inout FieldWriter, source: Int,
                                 destination: Int) -> UInt8 {
        let sourceRange = m.sourcePorts ?? .all, destinationRange = m.destinationPorts ?? .all
        data.setHost(sourceRange.first, at: source)
        data.setHost(sourceRange.last, at: source + 2)
        data.setHost(destinationRange.first, at: destination)
        data.setHost(destinationRange.last, at: destination + 2)
        return (m.sourceNegated ? 0x01 : 0) | (m.destinationNegated ? 0x02 : 0)
    }

    private static func ports(_ data: [UInt8], source: Int, destination: Int, invert: UInt8) -> PortMatch {
        func range(_ offset: Int) -> PortRange? {
            let range = PortRange(first: data.host(UInt16.self, at: offset), last: data.host(UInt16.self, at: offset + 2))
            return range == .all ? nil : range
        }
        return PortMatch(sourcePorts: range(source), sourceNegated: invert & 0x01 != 0,
                         destinationPorts: range(destination), destinationNegated: invert & 0x02 != 0)
    }
}

/// Offsets in struct xt_conntrack_mtinfo3.
private enum Conntrack {
    static let matchFlags = 146
    static let invertFlags = 148
    static let stateMask = 150
    /// XT_CONNTRACK_STATE
    static let stateFlag: UInt16 = 1
}

/// struct xt_sctp_info: dpts before spts, a 256-byte chunk map, flags saying which
/// ports are tested (unlike tcp/udp, untested ports stay 0:0).
private enum SCTP {
    static let size = 296
    static let destinationPorts = 0, sourcePorts = 4
    static let flagInfo = 268, flags = 284, invertFlags = 288
    static let sourceFlag: UInt32 = 0x01, destinationFlag: UInt32 = 0x02

    static func write(_ m: PortMatch, into data: inout FieldWriter) {
        var flags: UInt32 = 0, invert: UInt32 = 0
        if let range = m.sourcePorts {
            data.setHost(range.first, at: sourcePorts)
            data.setHost(range.last, at: sourcePorts + 2)
            flags |= sourceFlag
        }
        if let range = m.destinationPorts {
            data.setHost(range.first, at: destinationPorts)
            data.setHost(range.last, at: destinationPorts + 2)
            flags |= destinationFlag
        }
        if m.sourceNegated { invert |= sourceFlag }
        if m.destinationNegated { invert |= destinationFlag }
        // libxt_sctp's init marks the four flag slots unused with chunk type 0xff.
        for slot in 0..<4 { data[flagInfo + 3 * slot] = 0xFF }
        data.setHost(flags, at: SCTP.flags)
        data.setHost(invert, at: invertFlags)
    }

    static func decode(_ data: [UInt8]) -> PortMatch? {
        let flags = data.host(UInt32.self, at: SCTP.flags), invert = data.host(UInt32.self, at: invertFlags)
        func range(_ offset: Int, _ flag: UInt32) -> PortRange? {
            flags & flag == 0 ? nil : PortRange(first: data.host(UInt16.self, at: offset),
                                               last: data.host(UInt16.self, at: offset + 2))
        }
        return PortMatch(sourcePorts: range(sourcePorts, sourceFlag), sourceNegated: invert & sourceFlag != 0,
                         destinationPorts: range(destinationPorts, destinationFlag),
                         destinationNegated: invert & destinationFlag != 0)
    }
}

/// struct xt_multiport_v1: flags, count, ports[15], pflags[15] (1 = start of a range), invert.
private enum Multiport {
    static let slots = 15
    static let portsOffset = 2, rangeFlags = 32, invert = 47

    static func write(_ m: MultiportMatch, into data: inout FieldWriter) throws(RuleEncodingError) {
        var slot = 0
        for range in m.ports {
            let needed = range.first == range.last ? 1 : 2
            guard slot + needed <= slots else {
                throw .tooManyMultiportPorts(m.ports.reduce(0) { $0 + ($1.first == $1.last ? 1 : 2) })
            }
            data.setHost(range.first, at: portsOffset + 2 * slot)
            if needed == 2 {
                data[rangeFlags + slot] = 1
                data.setHost(range.last, at: portsOffset + 2 * (slot + 1))
            }
            slot += needed
        }
        switch m.direction {
        case .source: data[0] = 0
        case .destination: data[0] = 1
        case .either: data[0] = 2
        }
        data[1] = UInt8(slot)
        data[invert] = m.negated ? 1 : 0
    }

    static func decode(_ data: [UInt8]) -> MultiportMatch? {
        let direction: MultiportMatch.Direction
        switch data[0] {
        case 0: direction = .source
        case 1: direction = .destination
        case 2: direction = .either
        default: return nil
        }
        let count = Int(data[1])
        guard count <= slots else { return nil }
        var ports: [PortRange] = [], slot = 0
        while slot < count {
            let first = data.host(UInt16.self, at: portsOffset + 2 * slot)
            if data[rangeFlags + slot] != 0 {
                guard slot + 1 < count else { return nil }
                ports.append(PortRange(first: first, last: data.host(UInt16.self, at: portsOffset + 2 * (slot + 1))))
                slot += 2
            } else {
                ports.append(PortRange(first))
                slot += 1
            }
        }
        return MultiportMatch(direction: direction, ports: ports, negated: data[invert] != 0)
    }
}

/// struct xt_physdev_info: in/out names with masks, then invert and bitmask bytes.
private enum Physdev {
    static let inName = 0, inMask = 16, outName = 32, outMask = 48, invert = 64, bitmask = 65
    static let opIn: UInt8 = 0x01, opOut: UInt8 = 0x02, opBridged: UInt8 = 0x04
    static let opIsIn: UInt8 = 0x08, opIsOut: UInt8 = 0x10

    static func write(_ m: PhysdevMatch, into data: inout FieldWriter) throws(RuleEncodingError) {
        var bits: UInt8 = 0, inverted: UInt8 = 0
        func test(_ negated: Bool?, _ op: UInt8) {
            guard let negated else { return }
            bits |= op
            if negated { inverted |= op }
        }
        if let input = m.inInterface {
            try InterfaceField.encode(input.name, into: &data, name: inName, mask: inMask)
            test(input.negated, opIn)
        }
        if let output = m.outInterface {
            try InterfaceField.encode(output.name, into: &data, name: outName, mask: outMask)
            test(output.negated, opOut)
        }
        test(m.isInNegated, opIsIn)
        test(m.isOutNegated, opIsOut)
        test(m.isBridgedNegated, opBridged)
        data[invert] = inverted
        data[bitmask] = bits
    }

    static func decode(_ data: [UInt8]) -> PhysdevMatch? {
        let bits = data[bitmask], inverted = data[invert]
        func test(_ op: UInt8) -> Bool? { bits & op == 0 ? nil : inverted & op != 0 }
        func interface(_ op: UInt8, _ name: Int, _ mask: Int) -> InterfaceMatch?? {
            guard bits & op != 0 else { return .some(nil) }
            guard let text = InterfaceField.decode(data, name: name, mask: mask) else { return nil }
            return InterfaceMatch(text, negated: inverted & op != 0)
        }
        guard let input = interface(opIn, inName, inMask), let output = interface(opOut, outName, outMask) else {
            return nil
        }
        return PhysdevMatch(inInterface: input, outInterface: output, isInNegated: test(opIsIn),
                            isOutNegated: test(opIsOut), isBridgedNegated: test(opBridged))
    }
}

/// struct xt_set_info_match_v4: struct xt_set_info { ip_set_id_t index; u8 dim; u8 flags }
/// (flags: bit 0 negates the match, bit N set means dimension N is the source address),
/// the packet and byte counter tests podnet leaves unused (zero: IPSET_COUNTER_NONE),
/// then the match's u32 command flags at 40, of which podnet uses IPSET_FLAG_PHYSDEV only
/// (a hash:net,iface set's interface is the bridge port). Other flags (counters,
/// --return-nomatch) are not podnet's: such a rule is left undecoded.
private enum SetInfo {
    static let size = 48
    static let index = 0, dimensions = 2, flags = 3, commandFlags = 40
    static let inverted: UInt8 = 0x01
    static let maxDimensions = 6
    /// IPSET_FLAG_PHYSDEV of enum ipset_cadt_flags (linux/netfilter/ipset/ip_set.h).
    static let physdev: UInt32 = 1 << 1

    static func write(_ m: SetMatch, into data: inout FieldWriter, sets: IPSetIndexes) throws(RuleEncodingError) {
        guard let found = sets.byName[m.set] else { throw .unknownIPSet(m.set) }
        guard (1...maxDimensions).contains(m.directions.count) else { throw .badSetDimensions(m.directions.count) }
        data.setHost(found, at: index)
        data[dimensions] = UInt8(m.directions.count)
        var bits: UInt8 = m.negated ? inverted : 0
        for (position, direction) in m.directions.enumerated() where direction == .source {
            bits |= 1 << (position + 1)
        }
        data[flags] = bits
        if m.bridgePorts { data.setHost(physdev, at: commandFlags) }
    }

    static func decode(_ data: [UInt8], sets: IPSetIndexes) -> SetMatch? {
        guard let name = sets.byName.isEmpty ? nil : sets.byIndex[data.host(UInt16.self, at: index)] else { return nil }
        let count = Int(data[dimensions]), bits = data[flags]
        let command = data.host(UInt32.self, at: commandFlags)
        guard (1...maxDimensions).contains(count), command & ~physdev == 0 else { return nil }
        var match = SetMatch(name, negated: bits & inverted != 0, bridgePorts: command & physdev != 0)
        match.directions = (1...count).map { bits & (1 << $0) != 0 ? .source : .destination }
        return match
    }
}
