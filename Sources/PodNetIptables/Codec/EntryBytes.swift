/// Field access on entry and extension bytes. Integers the kernel keeps in host
/// order (sizes, offsets, counters, most extension fields) and in network order
/// (addresses, NAT ports) are read and written by separate helpers, so every call
/// site says which one it means. Reads are bounds-checked by the callers' layout
/// checks; these helpers trap only on a codec bug, never on input bytes.
extension Array where Element == UInt8 {
    init(zeros count: Int) { self.init(repeating: 0, count: count) }

    func host<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        var value = T.zero
        Swift.withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<MemoryLayout<T>.size { raw[index] = self[offset + index] }
        }
        return value
    }

    mutating func setHost<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        Swift.withUnsafeBytes(of: value) { raw in
            for index in 0..<MemoryLayout<T>.size { self[offset + index] = raw[index] }
        }
    }

    func network16(at offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }

    mutating func setNetwork16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(value & 0xFF)
    }

    func slice(_ offset: Int, _ count: Int) -> [UInt8] { Array(self[offset..<(offset + count)]) }

    mutating func set(_ bytes: [UInt8], at offset: Int) {
        replaceSubrange(offset..<(offset + bytes.count), with: bytes)
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
    mutating func setFixedString(_ text: String, at offset: Int, length: Int) -> Bool {
        let utf8 = text.utf8
        guard utf8.count < length, !utf8.contains(0) else { return false }
        withUnsafeMutableBufferPointer { buffer in
            var index = offset
            for byte in utf8 {
                buffer[index] = byte
                index += 1
            }
            for padding in index..<(offset + length) { buffer[padding] = 0 }
        }
        return true
    }
}
