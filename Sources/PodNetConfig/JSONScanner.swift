/// A pull parser over JSON bytes that builds nothing it is not asked for: the
/// NodeList reader walks the few fields it needs and skips the rest (images,
/// conditions, labels, ...), which keeps a 5,000-node NodeList fast and small.
/// Skipped values are still checked for JSON syntax; runs of whitespace and of plain
/// string bytes are passed eight at a time.
struct JSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var offset = 0
    /// JSON has newlines only between tokens (never raw inside a string), so
    /// counting them while skipping whitespace keeps the line of every offset
    /// since the last newline at hand.
    private var line = 1
    private var lineStart = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// What a JSON value is, from its first byte.
    enum Kind: Equatable {
        case object, array, string, number, bool, null

        var description: String {
            switch self {
            case .object: return "an object"
            case .array: return "a list"
            case .string: return "a string"
            case .number: return "a number"
            case .bool: return "a boolean"
            case .null: return "null"
            }
        }
    }

    struct SyntaxError: Error {
        var offset: Int
        var message: String
    }

    // MARK: Reading

    /// The kind of the next value, after whitespace.
    mutating func peekKind() throws(SyntaxError) -> Kind {
        skipWhitespace()
        guard offset < bytes.count else { throw SyntaxError(offset: offset, message: "unexpected end of data") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw unexpected()
        }
    }

    /// True right after `beginObject`/`beginArray`: the first member or element
    /// needs no comma before it.
    private var atContainerStart = false

    /// Enters the object that starts here; `nextKey` then walks its members.
    mutating func beginObject() throws(SyntaxError) {
        try expect(UInt8(ascii: "{"))
        atContainerStart = true
    }

    /// The next member's key, positioned at its value (which must then be read or
    /// skipped); nil after the object's closing brace.
    mutating func nextKey() throws(SyntaxError) -> String? {
        try nextKeyWithPosition()?.key
    }

    /// `nextKey`, with the 1-based line and column where the key starts, and whether
    /// the key is one YAML reads as an implicit key too: on the same line as its colon
    /// and at most 1,024 characters long.
    mutating func nextKeyWithPosition() throws(SyntaxError)
        -> (key: String, line: Int, column: Int, isSimpleKey: Bool)? {
        guard try nextEntry(closing: UInt8(ascii: "}")) else { return nil }
        let (line, column) = position(of: offset)
        let start = offset
        let key = try readString()
        let length = offset - start
        skipWhitespace()
        let isSimpleKey = self.line == line && length <= 1024
        try expect(UInt8(ascii: ":"))
        return (key, line, column, isSimpleKey)
    }

    /// Enters the array that starts here; `nextElement` then walks its elements.
    mutating func beginArray() throws(SyntaxError) {
        try expect(UInt8(ascii: "["))
        atContainerStart = true
    }

    /// True when another element follows (positioned at it); false after the
    /// array's closing bracket.
    mutating func nextElement() throws(SyntaxError) -> Bool {
        try nextEntry(closing: UInt8(ascii: "]"))
    }

    private mutating func nextEntry(closing: UInt8) throws(SyntaxError) -> Bool {
        let first = atContainerStart
        atContainerStart = false
        skipWhitespace()
        if try consume(closing) { return false }
        if !first, try !consume(UInt8(ascii: ",")) {
            throw SyntaxError(offset: offset, message: "expected ',' or '\(Character(Unicode.Scalar(closing)))', found \(found())")
        }
        skipWhitespace()
        return true
    }

    mutating func readString() throws(SyntaxError) -> String {
        skipWhitespace()
        let start = offset
        try expect(UInt8(ascii: "\""))
        let body = try scanStringBody(openedAt: start)
        let raw = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<offset])
        offset += 1
        // ASCII, nearly every string of a config or NodeList, needs no validation (and
        // String(validating:) costs more than the rest of reading a short string).
        let text: String
        if body.isASCII {
            text = String(decoding: raw, as: UTF8.self)
        } else if let validated = String(validating: raw, as: UTF8.self) {
            text = validated
        } else {
            throw SyntaxError(offset: start, message: "a string that is not UTF-8")
        }
        return body.hasEscapes ? try Self.unescape(text, at: start) : text
    }

    /// A number's text exactly as written.
    mutating func readNumberText() throws(SyntaxError) -> String {
        skipWhitespace()
        let start = offset
        try skipNumber()
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
    }

    mutating func readBool() throws(SyntaxError) -> Bool {
        skipWhitespace()
        guard offset < bytes.count else { throw unexpected() }
        let value = bytes[offset] == UInt8(ascii: "t")
        try skipLiteral(value ? "true" : "false")
        return value
    }

    mutating func readNull() throws(SyntaxError) {
        skipWhitespace()
        try skipLiteral("null")
    }

    /// Skips one value of any kind, checking its syntax.
    mutating func skipValue() throws(SyntaxError) {
        try skipValue(depth: 0)
    }

    /// Deeper than any NodeList; a limit so that hostile input fails cleanly instead
    /// of exhausting the stack.
    static let maxSkippedDepth = 512

    private mutating func skipValue(depth: Int) throws(SyntaxError) {
        let kind = try peekKind()
        if kind == .object || kind == .array, depth >= Self.maxSkippedDepth {
            throw SyntaxError(offset: offset, message: "nested deeper than \(Self.maxSkippedDepth) levels")
        }
        switch kind {
        case .object:
            // Keys of skipped objects are not turned into strings: most of a NodeList is skipped.
            try beginObject()
            while try nextEntry(closing: UInt8(ascii: "}")) {
                try skipString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                try skipValue(depth: depth + 1)
            }
        case .array:
            try beginArray()
            while try nextElement() { try skipValue(depth: depth + 1) }
        case .string: try skipString()
        case .number: try skipNumber()
        case .bool: try skipLiteral(bytes[offset] == UInt8(ascii: "t") ? "true" : "false")
        case .null: try skipLiteral("null")
        }
    }

    /// After the whole document: nothing but whitespace may follow.
    mutating func expectEnd() throws(SyntaxError) {
        skipWhitespace()
        if offset < bytes.count { throw unexpected() }
    }

    /// 1-based line and column (in bytes) of an offset on the current line: the
    /// scanner's own, or the start of the token it is in.
    func position(of offset: Int) -> (line: Int, column: Int) {
        (line, offset - lineStart + 1)
    }

    // MARK: Pieces

    /// kubectl indents its JSON by four spaces a level, so most of a List's bytes are
    /// runs of spaces after a newline: those are passed eight at a time.
    private mutating func skipWhitespace() {
        var index = offset
        let end = bytes.count
        guard index < end, bytes[index] <= UInt8(ascii: " ") else { return }
        let base = UnsafeRawPointer(bytes.baseAddress!)
        while index < end {
            switch bytes[index] {
            case UInt8(ascii: " "):
                index += 1
                while index + 8 <= end {
                    let others = Self.word(at: index, of: base) ^ Self.eightSpaces
                    if others != 0 {
                        index += others.trailingZeroBitCount / 8
                        break
                    }
                    index += 8
                }
            case UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                index += 1
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
                lineStart = index
            default:
                offset = index
                return
            }
        }
        offset = index
    }

    private static let eightSpaces: UInt64 = 0x2020_2020_2020_2020
    private static let lowBits: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Eight bytes from `index`, the first in the lowest bits.
    private static func word(at index: Int, of base: UnsafeRawPointer) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
    }

    /// The high bit of each byte of `word` below `limit` (at most 0x80): exact for the
    /// lowest such byte (a borrow only spills above a byte that is below the limit).
    private static func bytes(below limit: UInt8, in word: UInt64) -> UInt64 {
        (word &- lowBits &* UInt64(limit)) & ~word & highBits
    }

    /// Marks the bytes of `word` that need a look of their own inside a string, the
    /// lowest exactly: its closing quote, an escape, or a control byte (which JSON
    /// forbids raw).
    private static func attention(_ word: UInt64) -> UInt64 {
        bytes(below: 1, in: word ^ (lowBits &* UInt64(UInt8(ascii: "\"")))) |
            bytes(below: 1, in: word ^ (lowBits &* UInt64(UInt8(ascii: "\\")))) |
            bytes(below: 0x20, in: word)
    }

    /// Walks a string's body from after its opening quote (at `start`) to its closing
    /// quote, where it stops; checks its escapes and that it has no control byte.
    /// Plain runs are passed eight bytes at a time.
    private mutating func scanStringBody(openedAt start: Int) throws(SyntaxError) -> (hasEscapes: Bool, isASCII: Bool) {
        let end = bytes.count
        guard end > 0 else { throw SyntaxError(offset: start, message: "unterminated string") }
        let base = UnsafeRawPointer(bytes.baseAddress!)
        var index = offset
        var hasEscapes = false
        var seen: UInt64 = 0
        while true {
            if index + 8 <= end {
                let word = Self.word(at: index, of: base)
                let attention = Self.attention(word)
                if attention == 0 {
                    seen |= word
                    index += 8
                    continue
                }
                let plain = attention.trailingZeroBitCount / 8
                seen |= word & ((1 << UInt64(plain * 8)) &- 1)
                index += plain
            } else {
                // The last few bytes of the data, one at a time.
                guard index < end else { throw SyntaxError(offset: start, message: "unterminated string") }
                let byte = bytes[index]
                if byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 {
                    seen |= UInt64(byte)
                    index += 1
                    continue
                }
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                offset = index
                return (hasEscapes, seen & Self.highBits == 0)
            }
            if byte < 0x20 { throw SyntaxError(offset: index, message: "control character in a string") }
            hasEscapes = true
            offset = index
            try skipEscape()
            index = offset
        }
    }

    private mutating func consume(_ byte: UInt8) throws(SyntaxError) -> Bool {
        guard offset < bytes.count else { throw SyntaxError(offset: offset, message: "unexpected end of data") }
        guard bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    private mutating func expect(_ byte: UInt8) throws(SyntaxError) {
        guard offset < bytes.count, bytes[offset] == byte else { throw missing(byte) }
        offset += 1
    }

    /// The error of `expect` not finding `byte`, apart so that finding it stays a compare.
    @inline(never)
    private func missing(_ byte: UInt8) -> SyntaxError {
        guard offset < bytes.count else { return SyntaxError(offset: offset, message: "unexpected end of data") }
        return SyntaxError(offset: offset, message: "expected '\(Character(Unicode.Scalar(byte)))', found \(found())")
    }

    private func found() -> String {
        guard offset < bytes.count else { return "the end of the data" }
        let byte = bytes[offset]
        return (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private func unexpected() -> SyntaxError {
        SyntaxError(offset: offset, message: "unexpected \(found())")
    }

    private mutating func skipString() throws(SyntaxError) {
        let start = offset
        try expect(UInt8(ascii: "\""))
        _ = try scanStringBody(openedAt: start)
        offset += 1
    }

    private mutating func skipEscape() throws(SyntaxError) {
        let start = offset
        offset += 1
        guard offset < bytes.count else { throw SyntaxError(offset: start, message: "unterminated string") }
        switch bytes[offset] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            offset += 1
        case UInt8(ascii: "u"):
            guard offset + 4 < bytes.count,
                  (1...4).allSatisfy({ Self.isHexDigit(bytes[offset + $0]) }) else {
                throw SyntaxError(offset: start, message: "bad \\u escape")
            }
            offset += 5
        default:
            throw SyntaxError(offset: start, message: "bad escape")
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// The JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func skipNumber() throws(SyntaxError) {
        let start = offset
        func digits(_ scanner: inout JSONScanner) -> Int {
            let from = scanner.offset
            while scanner.offset < scanner.bytes.count,
                  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scanner.bytes[scanner.offset]) { scanner.offset += 1 }
            return scanner.offset - from
        }
        _ = try? consume(UInt8(ascii: "-"))
        let integerStart = offset
        let integerDigits = digits(&self)
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            throw SyntaxError(offset: start, message: "malformed number")
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard digits(&self) > 0 else { throw SyntaxError(offset: start, message: "malformed number") }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard digits(&self) > 0 else { throw SyntaxError(offset: start, message: "malformed number") }
        }
    }

    private mutating func skipLiteral(_ literal: StaticString) throws(SyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count,
              (0..<count).allSatisfy({ bytes[offset + $0] == literal.utf8Start[$0] }) else { throw unexpected() }
        offset += count
    }

    /// Decodes the escapes of a string whose syntax `skipEscape` already checked
    /// (rare in a NodeList, and only the fields read are decoded).
    private static func unescape(_ text: String, at offset: Int) throws(SyntaxError) -> String {
        var result = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        func hex4(_ scalars: inout String.UnicodeScalarView.Iterator) -> UInt32 {
            (0..<4).reduce(0) { value, _ in value << 4 | UInt32(String(scalars.next()!), radix: 16)! }
        }
        while let scalar = scalars.next() {
            guard scalar == "\\", let escaped = scalars.next() else {
                result.append(scalar)
                continue
            }
            switch escaped {
            case "b": result.append("\u{8}")
            case "f": result.append("\u{C}")
            case "n": result.append("\n")
            case "r": result.append("\r")
            case "t": result.append("\t")
            case "u":
                var value = hex4(&scalars)
                // A character outside the BMP is a UTF-16 surrogate pair of two escapes.
                if (0xD800..<0xDC00).contains(value) {
                    guard scalars.next() == "\\", scalars.next() == "u" else {
                        throw SyntaxError(offset: offset, message: "unpaired surrogate in a \\u escape")
                    }
                    let low = hex4(&scalars)
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw SyntaxError(offset: offset, message: "unpaired surrogate in a \\u escape")
                    }
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let decoded = Unicode.Scalar(value) else {
                    throw SyntaxError(offset: offset, message: "unpaired surrogate in a \\u escape")
                }
                result.append(decoded)
            default: result.append(escaped)
            }
        }
        return String(result)
    }
}
