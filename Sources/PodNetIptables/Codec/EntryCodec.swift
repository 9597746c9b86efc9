import PodNet

/// A rule's packet and byte counters, as the kernel keeps them per entry and per policy.
public struct PacketCounters: Sendable, Hashable, CustomStringConvertible {
    public var packets: UInt64
    public var bytes: UInt64

    public init(packets: UInt64, bytes: UInt64) {
        self.packets = packets
        self.bytes = bytes
    }

    public static let zero = PacketCounters(packets: 0, bytes: 0)

    /// `[packets:bytes]`, as iptables-save -c prints them.
    public var description: String { "[\(packets):\(bytes)]" }
}

/// One entry read back: the rule and its counters.
public struct DecodedEntry: Sendable, Hashable {
    public var rule: Rule
    public var counters: PacketCounters

    public init(rule: Rule, counters: PacketCounters) {
        self.rule = rule
        self.counters = counters
    }
}

/// `Rule` <-> `struct ipt_entry` / `struct ip6t_entry` bytes with their matches and target.
///
/// Encoding produces what libiptc takes from its callers; decoding accepts what libiptc
/// hands out (the kernel's form). Header fields the rule model cannot express are a
/// decoding error rather than silently dropped, and extensions the model does not know
/// are kept opaque, so a decoded rule re-encodes to the bytes it came from (apart from
/// the kernel's bookkeeping: nfcache, comefrom and the standard target's verdict).
public enum EntryCodec {
    /// Sizes the entry from the extensions' heads, then writes header, matches and
    /// target in place into one zeroed array: a plan can encode thousands of rules, and
    /// an array per extension (then copied into the entry) was most of the cost.
    /// `sets`: the kernel's ipset indexes, for rules that match a set (an undecoded
    /// entry holds its sets' indexes in its bytes already).
    public static func encode(_ rule: Rule, family: IPFamily, counters: PacketCounters = .zero,
                              sets: IPSetIndexes = IPSetIndexes()) throws(RuleEncodingError) -> [UInt8] {
        if case .undecoded(let entry) = rule.target { return encode(entry, family: family, counters: counters) }
        let layout = EntryLayout.of(family)
        let target = TargetCodec.head(rule.target, family: family)
        var targetOffset = layout.headerSize
        for match in rule.matches { targetOffset += ExtensionHeader.size + MatchCodec.head(match).dataSize }
        let nextOffset = targetOffset + ExtensionHeader.size + target.dataSize

        var entry = FieldWriter(zeros: nextOffset)
        var offset = layout.headerSize
        for match in rule.matches {
            let head = MatchCodec.head(match)
            entry.base = offset + ExtensionHeader.size
            try MatchCodec.writeData(match, into: &entry, sets: sets)
            try setExtensionHeader(head, at: offset, in: &entry.bytes)
            offset += ExtensionHeader.size + head.dataSize
        }
        entry.base = targetOffset + ExtensionHeader.size
        try TargetCodec.writeData(rule.target, family: family, into: &entry)
        try setExtensionHeader(target, at: targetOffset, in: &entry.bytes)
        guard nextOffset <= Int(UInt16.max) else { throw .entryTooLarge(nextOffset) }

        entry.base = 0
        var invert: UInt8 = 0, flags: UInt8 = 0
        if let source = rule.source {
            try setAddress(source, address: layout.source, mask: layout.sourceMask, layout: layout, into: &entry,
                           place: "-s")
            if source.negated { invert |= InvertFlag.source }
        }
        if let destination = rule.destination {
            try setAddress(destination, address: layout.destination, mask: layout.destinationMask, layout: layout,
                           into: &entry, place: "-d")
            if destination.negated { invert |= InvertFlag.destination }
        }
        if let input = rule.inInterface {
            try InterfaceField.encode(input.name, into: &entry, name: layout.inInterface, mask: layout.inInterfaceMask)
            if input.negated { invert |= InvertFlag.inInterface }
        }
        if let output = rule.outInterface {
            try InterfaceField.encode(output.name, into: &entry, name: layout.outInterface,
                                      mask: layout.outInterfaceMask)
            if output.negated { invert |= InvertFlag.outInterface }
        }
        if let proto = rule.proto {
            entry.setHost(UInt16(proto.proto.number), at: layout.proto)
            flags |= layout.protoFlag ?? 0
            if proto.negated { invert |= InvertFlag.proto }
        }
        if case .goto = rule.target { flags |= layout.gotoFlag }
        entry[layout.flags] = flags
        entry[layout.invertFlags] = invert
        entry.setHost(UInt16(targetOffset), at: layout.targetOffset)
        entry.setHost(UInt16(nextOffset), at: layout.nextOffset)
        entry.setHost(counters.packets, at: layout.counters)
        entry.setHost(counters.bytes, at: layout.counters + 8)
        return entry.bytes
    }

    /// Decodes one entry of exactly `next_offset` bytes.
    ///
    /// - Parameter targetName: what `iptc_get_target` says for this entry: the user chain
    ///   a standard target with a non-negative verdict jumps to, or "" for fall-through.
    ///   Needed only for such entries (the verdict itself is a kernel offset).
    public static func decode(_ bytes: [UInt8], family: IPFamily, targetName: String?,
                              sets: IPSetIndexes = IPSetIndexes()) throws(EntryDecodingError) -> DecodedEntry {
        let layout = EntryLayout.of(family)
        guard bytes.count >= layout.headerSize else {
            throw .truncated(length: bytes.count, needed: layout.headerSize)
        }
        let targetOffset = Int(bytes.host(UInt16.self, at: layout.targetOffset))
        let nextOffset = Int(bytes.host(UInt16.self, at: layout.nextOffset))
        guard nextOffset == bytes.count, targetOffset >= layout.headerSize, targetOffset % 8 == 0,
              targetOffset + ExtensionHeader.size <= nextOffset else {
            throw .badOffsets(targetOffset: targetOffset, nextOffset: nextOffset, length: bytes.count)
        }
        for range in layout.padding where !bytes.isZero(range) { throw .unrepresentable(.padding) }
        if let tos = layout.tos, bytes[tos] != 0 { throw .unrepresentable(.tos) }
        let flags = bytes[layout.flags], invert = bytes[layout.invertFlags]
        guard flags & ~layout.knownFlags == 0 else { throw .unrepresentable(.flags) }
        guard invert & ~InvertFlag.known == 0 else { throw .unrepresentable(.invertFlags) }

        var rule = Rule(target: .fallThrough)
        rule.source = try address(bytes, layout.source, layout.sourceMask, negated: invert & InvertFlag.source != 0,
                                  layout: layout, field: .source)
        rule.destination = try address(bytes, layout.destination, layout.destinationMask,
                                       negated: invert & InvertFlag.destination != 0, layout: layout,
                                       field: .destination)
        rule.inInterface = try interface(bytes, layout.inInterface, layout.inInterfaceMask,
                                         negated: invert & InvertFlag.inInterface != 0, field: .inInterface)
        rule.outInterface = try interface(bytes, layout.outInterface, layout.outInterfaceMask,
                                          negated: invert & InvertFlag.outInterface != 0, field: .outInterface)
        rule.proto = try proto(bytes, layout: layout, flags: flags, negated: invert & InvertFlag.proto != 0)

        var offset = layout.headerSize
        while offset < targetOffset {
            let ext = try extensionAt(bytes, offset: offset, end: targetOffset)
            rule.matches.append(MatchCodec.decode(ext, family: family, sets: sets))
            offset += ExtensionHeader.size + ext.data.count
        }
        let target = try extensionAt(bytes, offset: targetOffset, end: nextOffset)
        guard targetOffset + ExtensionHeader.size + target.data.count == nextOffset else {
            throw .badExtensionSize(offset: targetOffset, size: ExtensionHeader.size + target.data.count)
        }
        rule.target = try decodeTarget(target, family: family, targetName: targetName,
                                       isGoto: flags & layout.gotoFlag != 0)
        let counters = PacketCounters(packets: bytes.host(UInt64.self, at: layout.counters),
                                      bytes: bytes.host(UInt64.self, at: layout.counters + 8))
        return DecodedEntry(rule: rule, counters: counters)
    }

    // MARK: header fields

    private static func setAddress(_ match: AddressMatch, address: Int, mask: Int, layout: EntryLayout,
                                   into entry: inout FieldWriter, place: String) throws(RuleEncodingError) {
        guard match.address.family == layout.family, match.mask.family == layout.family else {
            throw .familyMismatch(expected: layout.family, in: "\(place) \(match.address)")
        }
        // iptables stores the address masked; so does podnet, or rules would not compare equal.
        entry.setAddress(match.address.masked(by: match.mask), at: address)
        entry.setAddress(match.mask, at: mask)
    }

    private static func address(_ bytes: [UInt8], _ addressOffset: Int, _ maskOffset: Int, negated: Bool,
                                layout: EntryLayout,
                                field: EntryHeaderField) throws(EntryDecodingError) -> AddressMatch? {
        let address = IPAddress(bytes: bytes.slice(addressOffset, layout.addressLength), family: layout.family)
        let mask = IPAddress(bytes: bytes.slice(maskOffset, layout.addressLength), family: layout.family)
        // iptables masks the address; bits outside the mask would not survive a re-encode.
        guard address.masked(by: mask) == address else { throw .unrepresentable(field) }
        if mask.high == 0, mask.low == 0, !negated { return nil }
        return AddressMatch(address: address, mask: mask, negated: negated)
    }

    private static func interface(_ bytes: [UInt8], _ nameOffset: Int, _ maskOffset: Int, negated: Bool,
                                  field: EntryHeaderField) throws(EntryDecodingError) -> InterfaceMatch? {
        guard let name = InterfaceField.decode(bytes, name: nameOffset, mask: maskOffset) else {
            throw .unrepresentable(field)
        }
        return name.isEmpty && !negated ? nil : InterfaceMatch(name, negated: negated)
    }

    private static func proto(_ bytes: [UInt8], layout: EntryLayout, flags: UInt8,
                              negated: Bool) throws(EntryDecodingError) -> ProtocolMatch? {
        let number = bytes.host(UInt16.self, at: layout.proto)
        guard number <= UInt8.max else { throw .unrepresentable(.proto) }
        if let protoFlag = layout.protoFlag {
            // IPv6 says "proto is tested" by a flag; `-p all` sets it with proto 0.
            guard flags & protoFlag != 0 else {
                guard number == 0, !negated else { throw .unrepresentable(.proto) }
                return nil
            }
            return ProtocolMatch(IPProtocol(number: UInt8(number)), negated: negated)
        }
        return number == 0 && !negated ? nil : ProtocolMatch(IPProtocol(number: UInt8(number)), negated: negated)
    }

    // MARK: extensions

    /// An extension's header (u16 size, NUL-padded name, revision) before its data.
    private static func setExtensionHeader(_ head: ExtensionHead, at offset: Int,
                                           in bytes: inout [UInt8]) throws(RuleEncodingError) {
        guard head.dataSize % 8 == 0,
              bytes.setFixedString(head.name, at: offset + 2, length: ExtensionHeader.nameLength) else {
            throw .invalidExtension(name: head.name, dataSize: head.dataSize)
        }
        bytes.setHost(UInt16(ExtensionHeader.size + head.dataSize), at: offset)
        bytes[offset + ExtensionHeader.revisionOffset] = head.revision
    }

    private static func extensionAt(_ bytes: [UInt8], offset: Int,
                                    end: Int) throws(EntryDecodingError) -> OpaqueExtension {
        guard offset + ExtensionHeader.size <= end else {
            throw .badExtensionSize(offset: offset, size: end - offset)
        }
        let size = Int(bytes.host(UInt16.self, at: offset))
        guard size >= ExtensionHeader.size, size % 8 == 0, offset + size <= end else {
            throw .badExtensionSize(offset: offset, size: size)
        }
        // Only the name up to its NUL counts. The kernel returns what its caller left
        // after it: iptables-restore leaves uninitialised heap there, libiptc leaves
        // "\0CCEPT" after a standard target that was "ACCEPT". The kernel ignores those
        // bytes and so does podnet (it writes zeros there).
        let field = bytes[(offset + 2)..<(offset + 2 + ExtensionHeader.nameLength)]
        guard let end = field.firstIndex(of: 0),
              let name = String(validating: field[..<end], as: UTF8.self) else {
            throw .badExtensionName(offset: offset)
        }
        return OpaqueExtension(name: name, revision: bytes[offset + ExtensionHeader.revisionOffset],
                               data: bytes.slice(offset + ExtensionHeader.size, size - ExtensionHeader.size))
    }

    static let verdicts: [Int32: Target] = [
        StandardVerdict.accept: .accept, StandardVerdict.drop: .drop,
        StandardVerdict.queue: .queue, StandardVerdict.return: .returnFromChain,
    ]
    /// The names libiptc's callers give standard verdicts (the encoder's form).
    private static let verdictNames: [String: Target] = [
        "ACCEPT": .accept, "DROP": .drop, "QUEUE": .queue, "RETURN": .returnFromChain,
    ]

    private static func decodeTarget(_ raw: OpaqueExtension, family: IPFamily, targetName: String?,
                                     isGoto: Bool) throws(EntryDecodingError) -> Target {
        let size = ExtensionHeader.size + raw.data.count
        let target: Target
        if raw.name.isEmpty || verdictNames[raw.name] != nil {
            let verdict = raw.data.count >= 4 ? raw.data.host(Int32.self, at: 0) : 0
            guard size == StandardVerdict.targetSize, raw.revision == 0 else {
                throw .badStandardTarget(size: size, verdict: verdict)
            }
            if let named = verdictNames[raw.name] {
                target = named
            } else if verdict < 0 {
                guard let standard = verdicts[verdict] else { throw .badStandardTarget(size: size, verdict: verdict) }
                target = standard
            } else {
                guard let targetName else { throw .unresolvedJump(verdict: verdict) }
                target = targetName.isEmpty ? .fallThrough : .jump(ChainName(targetName))
            }
        } else {
            target = TargetCodec.decodeModule(raw, family: family)
        }
        guard isGoto else { return target }
        guard case .jump(let chain) = target else { throw .gotoWithoutChain }
        return .goto(chain)
    }
}
