import PodNet

/// The attributes (struct nlattr TLVs) of a message or of a nested attribute,
/// by type. Parsed in Swift because libmnl's iteration is a C macro.
struct NetlinkAttributes {
    /// The TLVs as they came, checked once: a handful per message, so each lookup walks
    /// them again rather than building a table (a dump of 40,000 routes parses 40,000 of
    /// these, and an array per message cost more than the walks).
    private let bytes: ArraySlice<UInt8>

    /// The attribute type without NLA_F_NESTED / NLA_F_NET_BYTEORDER.
    private static let typeMask: UInt16 = 0x3FFF

    /// Checks the TLVs filling `bytes`; a truncated attribute is malformed.
    init(_ bytes: ArraySlice<UInt8>) throws(NetlinkError) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(bytes.load(UInt16.self, at: offset - bytes.startIndex))
            guard length >= 4, offset + length <= bytes.endIndex else {
                let type = bytes.load(UInt16.self, at: offset - bytes.startIndex + 2) & Self.typeMask
                throw .malformed("attribute \(type) of length \(length) overruns its message")
            }
            offset += netlinkAligned(length)
        }
        self.bytes = bytes
    }

    /// The payload of the attribute of `type`; as with a dictionary, a repeated type
    /// gives its last value.
    subscript(type: UInt16) -> ArraySlice<UInt8>? {
        let found = bytes.withUnsafeBytes { raw -> Range<Int>? in
            var found: Range<Int>?
            var offset = 0
            while offset + 4 <= raw.count {
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                if raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & Self.typeMask == type {
                    found = (offset + 4)..<(offset + length)
                }
                offset += netlinkAligned(length)
            }
            return found
        }
        return found.map { bytes[(bytes.startIndex + $0.lowerBound)..<(bytes.startIndex + $0.upperBound)] }
    }

    func nested(_ type: UInt16) throws(NetlinkError) -> NetlinkAttributes? {
        guard let payload = self[type] else { return nil }
        return try NetlinkAttributes(payload)
    }

    func u8(_ type: UInt16) -> UInt8? {
        guard let payload = self[type], payload.count >= 1 else { return nil }
        return payload.first
    }

    func u32(_ type: UInt16) -> UInt32? {
        self[type].flatMap(Self.u32)
    }

    static func u32(_ payload: ArraySlice<UInt8>) -> UInt32? {
        payload.count >= 4 ? payload.load(UInt32.self, at: 0) : nil
    }

    /// Each attribute of `bytes` in order, its payload lent in place, in the one walk
    /// that also checks them (for a message whose many attributes are all read: a route
    /// of a 100,000-route dump, where a slice per attribute and a second walk cost more
    /// than the reading); a truncated attribute is malformed.
    static func forEach(in bytes: ArraySlice<UInt8>,
                        _ body: (_ type: UInt16, _ payload: UnsafeRawBufferPointer) -> Void) throws(NetlinkError) {
        let malformed = bytes.withUnsafeBytes { raw -> NetlinkError? in
            var offset = 0
            while offset + 4 <= raw.count {
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                let type = raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & Self.typeMask
                guard length >= 4, offset + length <= raw.count else {
                    return .malformed("attribute \(type) of length \(length) overruns its message")
                }
                body(type, UnsafeRawBufferPointer(rebasing: raw[(offset + 4)..<(offset + length)]))
                offset += netlinkAligned(length)
            }
            return nil
        }
        if let malformed { throw malformed }
    }

    /// A u32 payload lent by `forEach`.
    static func u32(_ payload: UnsafeRawBufferPointer) -> UInt32? {
        payload.count >= 4 ? payload.loadUnaligned(as: UInt32.self) : nil
    }

    /// An address payload lent by `forEach`.
    static func address(_ payload: UnsafeRawBufferPointer, family: IPFamily) -> IPAddress? {
        payload.count == family.bitWidth / 8 ? IPAddress(networkOrder: payload, family: family) : nil
    }

    /// A string attribute without its terminating NUL.
    func string(_ type: UInt16) -> String? {
        guard let payload = self[type] else { return nil }
        return String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
    }

    func address(_ type: UInt16, family: IPFamily) -> IPAddress? {
        self[type].flatMap { Self.address($0, family: family) }
    }

    static func address(_ payload: ArraySlice<UInt8>, family: IPFamily) -> IPAddress? {
        guard payload.count == family.bitWidth / 8 else { return nil }
        // Straight from the message (network order), without an array per address:
        // a route dump reads two per route.
        return payload.withUnsafeBytes { IPAddress(networkOrder: $0, family: family) }
    }

    func macAddress(_ type: UInt16) -> MACAddress? {
        guard let payload = self[type], payload.count == 6 else { return nil }
        return MACAddress(bytes: Array(payload))
    }
}
