import PodNet

/// Field access on entry and extension bytes. Integers the kernel keeps in host
/// order (sizes, offsets, counters, most extension fields) and in network order
/// (addresses, NAT ports) are read and written by separate helpers, so every call
/// site says which one it means. Reads are bounds-checked by the callers' layout
/// checks; these helpers trap only on a codec bug, never on input bytes.
extension Array where Element == UInt8 {
    init(zeros count: Int) { self.init(repeating: 0, count: count) }

    func host<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "field outside the bytes")
        return withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    mutating func setHost<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        store(value, at: offset)
    }

    func network16(at offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }

    mutating func setNetwork16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(value & 0xFF)
    }

    func slice(_ offset: Int, _ count: Int) -> [UInt8] { Array(self[offset..<(offset + count)]) }

    mutating func set(_ bytes: [UInt8], at offset: Int) {
        precondition(offset >= 0 && offset + bytes.count <= count, "field outside the bytes")
        withUnsafeMutableBytes { buffer in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]).copyMemory(from: $0) }
        }
    }

    /// `count` bytes of `value` (interface masks are runs of 0xFF, then zeros).
    mutating func fill(_ value: UInt8, at offset: Int, count length: Int) {
        precondition(offset >= 0 && length >= 0 && offset + length <= count, "field outside the bytes")
        withUnsafeMutableBytes { buffer in
            _ = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + length)])
                .initializeMemory(as: UInt8.self, repeating: value)
        }
    }

    /// A 4-byte (IPv4) or 16-byte (IPv6) address in network order, copied in place:
    /// `IPAddress.bytes` would allocate an array per address.
    mutating func setAddress(_ address: IPAddress, at offset: Int) {
        address.withNetworkOrderBytes { raw in
            precondition(offset >= 0 && offset + raw.count <= count, "field outside the bytes")
            withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[offset...]).copyMemory(from: raw) }
        }
    }

    /// The value's in-memory bytes at any alignment (entry fields are not aligned in the array).
    private mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "field outside the bytes")
        withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: T.self) }
    }

    func isZero(_ range: Range<Int>) -> Bool { self[range].allSatisfy { $0 == 0 } }

    /// A NUL-terminated name in a fixed field; nil when the field has no NUL or
    /// anything but zeros follows it (such bytes would not survive a re-encode).
    func fixedString(at offset: Int, length: Int) -> String? {
        let field = self[offset..<(offset + length)]
        guard let end = field.firstIndex(of: 0), field[end...].allSatisfy({ $0 == 0 }) else { return nil }
        let text = String(decoding: field[..<end], as: UTF8.self)
        return Array(text.utf8) == Array(field[..<end]) ? text : nil
    }

    /// Writes `text` NUL-padded into a fixed field; false when it does not fit with its NUL.
    /// Copies and pads in bulk: every entry has a 29-byte extension name per match and
    /// target, and podnet's rules carry a 256-byte comment.
    mutating func setFixedString(_ text: String, at offset: Int, length: Int) -> Bool {
        precondition(offset >= 0 && offset + length <= count, "field outside the bytes")
        var text = text  // withUTF8 is mutating: it would make a bridged string native first
        return text.withUTF8 { utf8 in
            guard utf8.count < length, !utf8.contains(0) else { return false }
            withUnsafeMutableBytes { buffer in
                let field = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + length)])
                field.copyMemory(from: UnsafeRawBufferPointer(utf8))
                _ = UnsafeMutableRawBufferPointer(rebasing: field[utf8.count...]).initializeMemory(as: UInt8.self,
                                                                                                   repeating: 0)
            }
            return true
        }
    }
}

/// Writes the fields of one struct inside a byte array: offsets are relative to `base`,
/// as the kernel struct defines them. The same code then fills a struct's own array
/// (decoding's round-trip check) or its place inside a whole entry (encoding, which
/// allocates each entry once instead of an array per extension).
///
/// The bytes start zeroed; writers set only the fields they use.
struct FieldWriter {
    var bytes: [UInt8]
    var base = 0

    init(zeros count: Int) { bytes = [UInt8](zeros: count) }

    subscript(offset: Int) -> UInt8 {
        get { bytes[base + offset] }
        set { bytes[base + offset] = newValue }
    }

    mutating func setHost<T: FixedWidthInteger>(_ value: T, at offset: Int) { bytes.setHost(value, at: base + offset) }
    mutating func setNetwork16(_ value: UInt16, at offset: Int) { bytes.setNetwork16(value, at: base + offset) }
    mutating func setAddress(_ address: IPAddress, at offset: Int) { bytes.setAddress(address, at: base + offset) }
    mutating func set(_ data: [UInt8], at offset: Int) { bytes.set(data, at: base + offset) }

    mutating func fill(_ value: UInt8, at offset: Int, count: Int) {
        bytes.fill(value, at: base + offset, count: count)
    }

    mutating func setFixedString(_ text: String, at offset: Int, length: Int) -> Bool {
        bytes.setFixedString(text, at: base + offset, length: length)
    }
}
