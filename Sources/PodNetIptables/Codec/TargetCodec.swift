import PodNet

/// Targets <-> the target extension of an entry.
///
/// Standard targets are written the way libiptc expects them from its callers (the
/// verdict or chain as the target's name; libiptc computes the verdict and jump
/// offset) and read the way the kernel and libiptc hold them (name "" and a verdict,
/// a jump's destination named by `iptc_get_target`). Module targets follow the same
/// total, round-trip-checked decoding as matches.
enum TargetCodec {
    /// The target's extension header; its data is `head.dataSize` bytes.
    static func head(_ target: Target, family: IPFamily) -> ExtensionHead {
        func standard(_ name: String) -> ExtensionHead {
            ExtensionHead(name: name, revision: 0, dataSize: StandardVerdict.targetSize - ExtensionHeader.size)
        }
        switch target {
        case .fallThrough: return standard("")
        case .accept: return standard("ACCEPT")
        case .drop: return standard("DROP")
        case .queue: return standard("QUEUE")
        case .returnFromChain: return standard("RETURN")
        case .jump(let chain), .goto(let chain): return standard(chain.rawValue)
        case .masquerade:
            return ExtensionHead(name: "MASQUERADE", revision: 0, dataSize: family == .ipv4 ? 24 : 40)
        case .dnat: return ExtensionHead(name: "DNAT", revision: 2, dataSize: 48)
        case .snat:
            // iptables 1.8.9 writes SNAT at revision 0 (IPv4) and 1 (IPv6), unlike DNAT.
            return family == .ipv4 ? ExtensionHead(name: "SNAT", revision: 0, dataSize: 24)
                                   : ExtensionHead(name: "SNAT", revision: 1, dataSize: 40)
        case .mark: return ExtensionHead(name: "MARK", revision: 2, dataSize: 8)
        case .reject: return ExtensionHead(name: "REJECT", revision: 0, dataSize: 8)
        case .opaque(let ext): return ExtensionHead(name: ext.name, revision: ext.revision, dataSize: ext.data.count)
        case .undecoded: return standard("")  // never written as a target: EntryCodec writes the entry whole
        }
    }

    /// Writes the target's data at `data.base`, into `head(target).dataSize` zeroed bytes.
    static func writeData(_ target: Target, family: IPFamily,
                          into data: inout FieldWriter) throws(RuleEncodingError) {
        switch target {
        case .fallThrough, .accept, .drop, .queue, .returnFromChain:
            break  // libiptc fills in the verdict
        case .jump(let chain), .goto(let chain):
            guard !chain.rawValue.isEmpty, chain.rawValue.utf8.count <= ChainName.maxLength else {
                throw .invalidChainName(chain)
            }
        case .masquerade(let t):
            let range = NATRange(addresses: nil, ports: t.ports, random: t.random, randomFully: t.randomFully,
                                 persistent: false)
            try family == .ipv4 ? range.writeCompat(family: family, into: &data)
                                : range.writeRange(family: family, into: &data)
        case .dnat(let t):
            try NATRange(t).writeRange(family: family, into: &data)
        case .snat(let t):
            try family == .ipv4 ? NATRange(t).writeCompat(family: family, into: &data)
                                : NATRange(t).writeRange(family: family, into: &data)
        case .mark(let t):
            data.setHost(t.value, at: 0)
            data.setHost(t.mask, at: 4)
        case .reject(let kind):
            switch (kind, family) {
            case (.ipv4(let code), .ipv4), (.ipv6(let code), .ipv6): data.setHost(code, at: 0)
            default: throw .familyMismatch(expected: family, in: "REJECT --reject-with \(kind.name)")
            }
        case .opaque(let ext):
            data.set(ext.data, at: 0)
        case .undecoded(let entry):
            throw .undecodedEntryAsTarget(entry.summary)
        }
    }

    /// The target as an extension on its own, in the form libiptc takes from its callers.
    static func encode(_ target: Target, family: IPFamily) throws(RuleEncodingError) -> OpaqueExtension {
        if case .opaque(let ext) = target { return ext }
        return try OpaqueExtension(head(target, family: family)) { data throws(RuleEncodingError) in
            try writeData(target, family: family, into: &data)
        }
    }

    /// A module target (anything but the standard target, which `EntryCodec` reads).
    static func decodeModule(_ raw: OpaqueExtension, family: IPFamily) -> Target {
        if let typed = typed(raw, family: family), let again = try? encode(typed, family: family), again == raw {
            return typed
        }
        return .opaque(raw)
    }

    private static func typed(_ raw: OpaqueExtension, family: IPFamily) -> Target? {
        let data = raw.data
        switch (raw.name, raw.revision, data.count, family) {
        case ("MASQUERADE", 0, 24, .ipv4), ("MASQUERADE", 0, 40, .ipv6):
            let range = family == .ipv4 ? NATRange(compat: data) : NATRange(range: data, family: family)
            return range.map { .masquerade(MasqueradeTarget(ports: $0.ports, random: $0.random, randomFully: $0.randomFully)) }
        case ("DNAT", 2, 48, _):
            return NATRange(range: data, family: family).map { .dnat($0.target) }
        case ("SNAT", 0, 24, .ipv4):
            return NATRange(compat: data).map { .snat($0.target) }
        case ("SNAT", 1, 40, .ipv6):
            return NATRange(range: data, family: family).map { .snat($0.target) }
        case ("MARK", 2, 8, _):
            return .mark(MarkTarget(value: data.host(UInt32.self, at: 0), mask: data.host(UInt32.self, at: 4)))
        case ("REJECT", 0, 8, _):
            let code = data.host(UInt32.self, at: 0)
            return .reject(family == .ipv4 ? .ipv4(code) : .ipv6(code))
        default:
            return nil
        }
    }
}

/// The NAT range as the three kernel layouts hold it: nf_nat_ipv4_multi_range_compat
/// (rangesize, flags, min_ip, max_ip, ports), nf_nat_range (flags, min/max address as
/// 16-byte nf_inet_addr, ports) and nf_nat_range2 (the same plus base_proto).
/// Addresses and ports are in network order.
private struct NATRange {
    var addresses: (min: IPAddress, max: IPAddress)?
    var ports: PortRange?
    var random: Bool
    var randomFully: Bool
    var persistent: Bool

    static let mapIPs: UInt32 = 0x01, protoSpecified: UInt32 = 0x02, protoRandom: UInt32 = 0x04
    static let persistentFlag: UInt32 = 0x08, protoRandomFully: UInt32 = 0x10

    init(addresses: (min: IPAddress, max: IPAddress)?, ports: PortRange?, random: Bool, randomFully: Bool,
         persistent: Bool) {
        self.addresses = addresses
        self.ports = ports
        self.random = random
        self.randomFully = randomFully
        self.persistent = persistent
    }

    init(_ t: NATTarget) {
        self.init(addresses: t.minAddress.map { ($0, t.maxAddress ?? $0) }, ports: t.ports, random: t.random,
                  randomFully: t.randomFully, persistent: t.persistent)
    }

    var target: NATTarget {
        NATTarget(minAddress: addresses?.min, maxAddress: addresses?.max, ports: ports, random: random,
                  randomFully: randomFully, persistent: persistent)
    }

    var flags: UInt32 {
        (addresses == nil ? 0 : NATRange.mapIPs) | (ports == nil ? 0 : NATRange.protoSpecified)
            | (random ? NATRange.protoRandom : 0) | (persistent ? NATRange.persistentFlag : 0)
            | (randomFully ? NATRange.protoRandomFully : 0)
    }

    /// Only the flags podnet models; anything else (offsets, netmap) keeps the target opaque.
    init?(flags: UInt32, addresses: (min: IPAddress, max: IPAddress)?, ports: PortRange) {
        guard flags & ~UInt32(0x1F) == 0 else { return nil }
        self.init(addresses: flags & NATRange.mapIPs != 0 ? addresses : nil,
                  ports: flags & NATRange.protoSpecified != 0 ? ports : nil,
                  random: flags & NATRange.protoRandom != 0, randomFully: flags & NATRange.protoRandomFully != 0,
                  persistent: flags & NATRange.persistentFlag != 0)
    }

    private func checkedAddresses(_ family: IPFamily) throws(RuleEncodingError) -> (min: IPAddress, max: IPAddress)? {
        guard let addresses else { return nil }
        guard addresses.min.family == family, addresses.max.family == family else {
            throw .familyMismatch(expected: family, in: "NAT address \(addresses.min)-\(addresses.max)")
        }
        return addresses
    }

    /// nf_nat_ipv4_multi_range_compat, 24 bytes.
    func writeCompat(family: IPFamily, into data: inout FieldWriter) throws(RuleEncodingError) {
        data.setHost(UInt32(1), at: 0)
        data.setHost(flags, at: 4)
        if let addresses = try checkedAddresses(family) {
            data.setAddress(addresses.min, at: 8)
            data.setAddress(addresses.max, at: 12)
        }
        if let ports {
            data.setNetwork16(ports.first, at: 16)
            data.setNetwork16(ports.last, at: 18)
        }
    }

    init?(compat data: [UInt8]) {
        guard data.host(UInt32.self, at: 0) == 1 else { return nil }
        let min = IPAddress(bytes: data.slice(8, 4), family: .ipv4)
        let max = IPAddress(bytes: data.slice(12, 4), family: .ipv4)
        self.init(flags: data.host(UInt32.self, at: 4), addresses: (min, max),
                  ports: PortRange(first: data.network16(at: 16), last: data.network16(at: 18)))
    }

    /// nf_nat_range (40 bytes) or nf_nat_range2 (48, base_proto left zero).
    func writeRange(family: IPFamily, into data: inout FieldWriter) throws(RuleEncodingError) {
        data.setHost(flags, at: 0)
        if let addresses = try checkedAddresses(family) {
            data.setAddress(addresses.min, at: 4)
            data.setAddress(addresses.max, at: 20)
        }
        if let ports {
            data.setNetwork16(ports.first, at: 36)
            data.setNetwork16(ports.last, at: 38)
        }
    }

    init?(range data: [UInt8], family: IPFamily) {
        let length = family == .ipv4 ? 4 : 16
        let min = IPAddress(bytes: data.slice(4, length), family: family)
        let max = IPAddress(bytes: data.slice(20, length), family: family)
        self.init(flags: data.host(UInt32.self, at: 0), addresses: (min, max),
                  ports: PortRange(first: data.network16(at: 36), last: data.network16(at: 38)))
    }
}
