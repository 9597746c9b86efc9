/// A JSON text's bytes eight at a time (SWAR, in one UInt64): most of a config or of a
/// kubectl List is string bodies and indentation, which one test of a word passes whole.
/// A mark is a byte's high bit; the lowest mark of a word is exact (a borrow only
/// spills into the bytes above a marked one), so `trailingZeroBitCount / 8` is the
/// offset of the first byte that needs a look of its own.
enum JSONWords {
    static let eightSpaces: UInt64 = 0x2020_2020_2020_2020
    static let lowBits: UInt64 = 0x0101_0101_0101_0101
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Eight bytes from `index`, the first in the lowest bits.
    @inline(__always)
    static func load(at index: Int, of base: UnsafeRawPointer) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
    }

    /// Marks the bytes of `word` below `limit` (at most 0x80).
    @inline(__always)
    static func bytes(below limit: UInt8, in word: UInt64) -> UInt64 {
        (word &- lowBits &* UInt64(limit)) & ~word & highBits
    }

    /// Marks the bytes that end a run inside a string: its closing quote, an escape, or
    /// a control byte (which JSON forbids raw).
    @inline(__always)
    static func stringAttention(_ word: UInt64) -> UInt64 {
        bytes(below: 1, in: word ^ (lowBits &* UInt64(UInt8(ascii: "\"")))) |
            bytes(below: 1, in: word ^ (lowBits &* UInt64(UInt8(ascii: "\\")))) |
            bytes(below: 0x20, in: word)
    }

    /// `stringAttention`, and bytes that are not ASCII: what ends a run of a plain string
    /// (ASCII, no escapes), whose bytes are its text.
    @inline(__always)
    static func plainStringStop(_ word: UInt64) -> UInt64 {
        stringAttention(word) | word & highBits
    }

    /// The closing quote of a string body from `start` when the body is ASCII without
    /// escapes or control bytes; nil otherwise.
    @inline(__always)
    static func plainStringEnd(_ base: UnsafePointer<UInt8>, _ end: Int, from start: Int) -> Int? {
        let raw = UnsafeRawPointer(base)
        var at = start
        while true {
            if at + 8 <= end {
                let word = load(at: at, of: raw)
                let stop = plainStringStop(word)
                if stop == 0 {
                    at += 8
                    continue
                }
                at += stop.trailingZeroBitCount / 8
            } else if at >= end {
                return nil
            }
            let byte = base[at]
            if byte == UInt8(ascii: "\"") { return at }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
            at += 1
        }
    }
}
