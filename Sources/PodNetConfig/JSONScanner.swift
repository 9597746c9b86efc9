/// A pull parser over JSON bytes that builds nothing it is not asked for: the
/// NodeList reader walks the few fields it needs and skips the rest (images,
/// conditions, labels, ...), which keeps a 5,000-node NodeList fast and small.
/// Skipped values are still checked for JSON syntax; runs of whitespace and of plain
/// string bytes are passed eight at a time.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var offset = 0
    /// JSON has newlines only between tokens (never raw inside a string), so
    /// counting them while skipping whitespace keeps the line of every offset
    /// since the last newline at hand.
    private var line = 1
    private var lineStart = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// A scanner that starts at `offset`, as if it had read up to there, for a reader
    /// that goes ahead of another (`PodReadAhead`): its lines count from 0, the line
    /// of `offset`, until `adopt` hands its position back to a scanner that got there.
    init(_ bytes: UnsafeBufferPointer<UInt8>, startingAt offset: Int) {
        self.bytes = bytes
        self.offset = offset
        line = 0
        lineStart = offset
    }

    /// Takes the position of `ahead`, a scanner made `startingAt` this one's offset that
    /// has read on from there: its lines are counted from this one's.
    mutating func adopt(_ ahead: JSONScanner) {
        precondition(ahead.bytes.baseAddress == bytes.baseAddress && ahead.offset >= offset)
        if ahead.line > 0 {
            line += ahead.line
            lineStart = ahead.lineStart
        }
        offset = ahead.offset
        atContainerStart = false
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
        try nextRawKey()?.text
    }

    /// A member's key as written, for a reader that compares it with the few names it
    /// wants: nearly every key of a kubectl object is plain ASCII, compared as bytes,
    /// and needs no String.
    struct Key {
        /// The key's bytes when it is ASCII without escapes.
        fileprivate let plain: UnsafeBufferPointer<UInt8>?
        /// Any other key, decoded.
        fileprivate let decoded: String?

        var text: String {
            decoded ?? String(decoding: plain!, as: UTF8.self)
        }

        @inline(__always)
        static func ~= (name: StaticString, key: Key) -> Bool {
            guard let plain = key.plain else { return key.decoded! == name.description }
            guard plain.count == name.utf8CodeUnitCount else { return false }
            let expected = name.utf8Start
            for index in 0..<plain.count where plain[index] != expected[index] { return false }
            return true
        }
    }

    /// `nextKey`, the key kept as written.
    @inline(__always)
    mutating func nextRawKey() throws(SyntaxError) -> Key? {
        if let plain = nextPlainKey() { return plain }
        return try nextKeyAsWritten()
    }

    /// `nextRawKey` for a key `nextPlainKey` leaves: escaped, not ASCII, or malformed.
    @inline(never)
    private mutating func nextKeyAsWritten() throws(SyntaxError) -> Key? {
        guard try nextEntry(closing: UInt8(ascii: "}")) else { return nil }
        let start = offset
        try expect(UInt8(ascii: "\""))
        let body = try scanStringBody(openedAt: start)
        let key: Key
        if body.isASCII, !body.hasEscapes {
            key = Key(plain: UnsafeBufferPointer(rebasing: bytes[(start + 1)..<offset]), decoded: nil)
            offset += 1
        } else {
            offset = start
            key = Key(plain: nil, decoded: try readString())
        }
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
        return key
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

    /// `nextRawKey` as kubectl writes nearly every member: an optional comma, then an
    /// ASCII key without escapes and its colon, whitespace around them; or the object's
    /// end (`.some(nil)`). nil, the scanner unmoved, for anything else, which
    /// `nextRawKey` then reads (and reports) itself.
    private mutating func nextPlainKey() -> Key?? {
        guard let base = bytes.baseAddress else { return nil }
        let end = bytes.count
        var index = offset, line = self.line, lineStart = self.lineStart
        Self.skipWhitespace(base, end, &index, &line, &lineStart)
        guard index < end else { return nil }
        var key: Key?
        if base[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            if !atContainerStart {
                guard base[index] == UInt8(ascii: ",") else { return nil }
                index += 1
                Self.skipWhitespace(base, end, &index, &line, &lineStart)
            }
            guard index < end, base[index] == UInt8(ascii: "\""),
                  let close = JSONWords.plainStringEnd(base, end, from: index + 1) else { return nil }
            key = Key(plain: UnsafeBufferPointer(start: base + index + 1, count: close - index - 1), decoded: nil)
            index = close + 1
            Self.skipWhitespace(base, end, &index, &line, &lineStart)
            guard index < end, base[index] == UInt8(ascii: ":") else { return nil }
            index += 1
        }
        offset = index
        self.line = line
        self.lineStart = lineStart
        atContainerStart = false
        return .some(key)
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

    /// Skips one value of any kind, checking its syntax. Nearly all of a kubectl List is
    /// skipped, and nearly all of it is well-formed: one loop passes it, and only a value
    /// it finds fault with (or nests too deep for) is walked again from its start by the
    /// recursive skip, whose error is the one reported.
    @inline(__always)
    mutating func skipValue() throws(SyntaxError) {
        if !skipWellFormedValue() { try skipValueReporting() }
    }

    /// The recursive skip from the value's start (`skipWellFormedValue` moves nothing it
    /// does not accept).
    @inline(never)
    private mutating func skipValueReporting() throws(SyntaxError) {
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

    /// Skips one value, as `skipValue`, and gives its text as written.
    mutating func skipValueText() throws(SyntaxError) -> UnsafeBufferPointer<UInt8> {
        skipWhitespace()
        let start = offset
        try skipValue()
        return UnsafeBufferPointer(rebasing: bytes[start..<offset])
    }

    /// Deepest nesting `skipWellFormedValue` follows: a bit per open container.
    private static let maxWellFormedDepth = 64

    /// What may come next in `skipWellFormedValue`'s walk.
    private enum Expected {
        case value, valueOrClose, key, keyOrClose, colon
        /// After a value: a comma or its container's end.
        case next
    }

    /// Skips the value here, true, when it is well-formed JSON nested at most
    /// `maxWellFormedDepth` levels; false, the scanner unmoved, otherwise. What it
    /// accepts the recursive skip accepts too, ending at the same offset and line.
    /// One loop over the bytes, dispatched on each token's first byte.
    private mutating func skipWellFormedValue() -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let end = bytes.count
        var index = offset, line = self.line, lineStart = self.lineStart
        // Bit n set: the container n + 1 levels in is an object.
        var objects: UInt64 = 0
        var depth = 0
        var expected = Expected.value
        while index < end {
            let byte = base[index]
            switch byte {
            case UInt8(ascii: " "):
                index += 1
                Self.skipSpaces(base, end, &index)
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
                lineStart = index
                Self.skipSpaces(base, end, &index)
            case UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                index += 1
            case UInt8(ascii: "\""):
                switch expected {
                case .value, .valueOrClose:
                    guard Self.skipWellFormedString(base, end, &index) else { return false }
                    expected = .next
                case .key, .keyOrClose:
                    guard Self.skipWellFormedString(base, end, &index) else { return false }
                    // kubectl's `"key": value`, taken in one step with a string value.
                    if index + 1 < end, base[index] == UInt8(ascii: ":") {
                        index += base[index + 1] == UInt8(ascii: " ") ? 2 : 1
                        expected = .value
                        if index < end, base[index] == UInt8(ascii: "\"") {
                            guard Self.skipWellFormedString(base, end, &index) else { return false }
                            expected = .next
                        }
                    } else {
                        expected = .colon
                    }
                default: return false
                }
            case UInt8(ascii: ":"):
                guard expected == .colon else { return false }
                index += 1
                expected = .value
            case UInt8(ascii: ","):
                guard expected == .next else { return false }
                index += 1
                expected = objects & 1 << UInt64(depth - 1) != 0 ? .key : .value
                Self.skipLineBreak(base, end, &index, &line, &lineStart)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard expected == .value || expected == .valueOrClose, depth < Self.maxWellFormedDepth else { return false }
                if byte == UInt8(ascii: "{") {
                    objects |= 1 << UInt64(depth)
                    expected = .keyOrClose
                } else {
                    objects &= ~(1 << UInt64(depth))
                    expected = .valueOrClose
                }
                depth += 1
                index += 1
                Self.skipLineBreak(base, end, &index, &line, &lineStart)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                let closesObject = byte == UInt8(ascii: "}")
                guard depth > 0, (objects & 1 << UInt64(depth - 1) != 0) == closesObject,
                      expected == .next || expected == (closesObject ? .keyOrClose : .valueOrClose) else { return false }
                depth -= 1
                index += 1
                expected = .next
                if depth == 0 { atContainerStart = false }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard expected == .value || expected == .valueOrClose, Self.skipWellFormedNumber(base, end, &index) else {
                    return false
                }
                expected = .next
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                let literal: StaticString = byte == UInt8(ascii: "t") ? "true" : byte == UInt8(ascii: "f") ? "false" : "null"
                guard expected == .value || expected == .valueOrClose, Self.skip(literal, base, end, &index) else { return false }
                expected = .next
            default:
                return false
            }
            guard expected == .next else { continue }
            if depth == 0 {
                offset = index
                self.line = line
                self.lineStart = lineStart
                return true
            }
            // kubectl ends a line at the comma after each value but a container's last.
            if index < end, base[index] == UInt8(ascii: ",") {
                index += 1
                expected = objects & 1 << UInt64(depth - 1) != 0 ? .key : .value
                Self.skipLineBreak(base, end, &index, &line, &lineStart)
            }
        }
        return false
    }

    /// A newline and the indentation after it, which kubectl writes after every comma
    /// and opening bracket.
    @inline(__always)
    private static func skipLineBreak(_ base: UnsafePointer<UInt8>, _ end: Int, _ index: inout Int,
                                      _ line: inout Int, _ lineStart: inout Int) {
        guard index < end, base[index] == UInt8(ascii: "\n") else { return }
        index += 1
        line += 1
        lineStart = index
        skipSpaces(base, end, &index)
    }

    /// Passes spaces eight at a time (kubectl indents by four a level).
    @inline(__always)
    private static func skipSpaces(_ base: UnsafePointer<UInt8>, _ end: Int, _ index: inout Int) {
        let raw = UnsafeRawPointer(base)
        while index + 8 <= end {
            let others = JSONWords.load(at: index, of: raw) ^ JSONWords.eightSpaces
            if others != 0 {
                index += others.trailingZeroBitCount / 8
                return
            }
            index += 8
        }
    }

    /// A string from its opening quote to after its closing one, when its escapes are
    /// valid and it has no control byte.
    @inline(__always)
    private static func skipWellFormedString(_ base: UnsafePointer<UInt8>, _ end: Int, _ index: inout Int) -> Bool {
        let raw = UnsafeRawPointer(base)
        var at = index + 1
        while true {
            if at + 8 <= end {
                let attention = JSONWords.stringAttention(JSONWords.load(at: at, of: raw))
                if attention == 0 {
                    at += 8
                    continue
                }
                at += attention.trailingZeroBitCount / 8
            } else if at >= end {
                return false
            }
            let byte = base[at]
            if byte == UInt8(ascii: "\"") {
                index = at + 1
                return true
            }
            if byte == UInt8(ascii: "\\") {
                guard at + 1 < end else { return false }
                switch base[at + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    at += 2
                case UInt8(ascii: "u"):
                    guard at + 5 < end, (2...5).allSatisfy({ isHexDigit(base[at + $0]) }) else { return false }
                    at += 6
                default:
                    return false
                }
                continue
            }
            if byte < 0x20 { return false }
            at += 1
        }
    }

    /// The JSON number grammar, as `skipNumber` checks it.
    @inline(__always)
    private static func skipWellFormedNumber(_ base: UnsafePointer<UInt8>, _ end: Int, _ index: inout Int) -> Bool {
        var at = index
        func digits(_ at: inout Int) -> Int {
            let from = at
            while at < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(base[at]) { at += 1 }
            return at - from
        }
        if base[at] == UInt8(ascii: "-") { at += 1 }
        let integerStart = at
        let integerDigits = digits(&at)
        guard integerDigits > 0, integerDigits == 1 || base[integerStart] != UInt8(ascii: "0") else { return false }
        if at < end, base[at] == UInt8(ascii: ".") {
            at += 1
            guard digits(&at) > 0 else { return false }
        }
        if at < end, base[at] == UInt8(ascii: "e") || base[at] == UInt8(ascii: "E") {
            at += 1
            if at < end, base[at] == UInt8(ascii: "+") || base[at] == UInt8(ascii: "-") { at += 1 }
            guard digits(&at) > 0 else { return false }
        }
        index = at
        return true
    }

    @inline(__always)
    private static func skip(_ literal: StaticString, _ base: UnsafePointer<UInt8>, _ end: Int, _ index: inout Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= end, (0..<count).allSatisfy({ base[index + $0] == literal.utf8Start[$0] }) else { return false }
        index += count
        return true
    }

    /// After the whole document: nothing but whitespace may follow.
    mutating func expectEnd() throws(SyntaxError) {
        skipWhitespace()
        if offset < bytes.count { throw unexpected() }
    }

    /// 1-based line and column (in bytes) of an offset: on the current line (the
    /// scanner's own, or the start of the token it is in), or past the scanner.
    func position(of offset: Int) -> (line: Int, column: Int) {
        guard offset > self.offset else { return (line, offset - lineStart + 1) }
        // An offset past this scanner's own: a copy read on (a pod reader, the look-ahead
        // for an item's kind) and failed there. Count the line breaks in between.
        var line = self.line, lineStart = self.lineStart
        for index in self.offset..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
            line += 1
            lineStart = index + 1
        }
        return (line, offset - lineStart + 1)
    }

    // MARK: Pieces

    /// kubectl indents its JSON by four spaces a level, so most of a List's bytes are
    /// runs of spaces after a newline: those are passed eight at a time.
    private mutating func skipWhitespace() {
        guard let base = bytes.baseAddress else { return }
        Self.skipWhitespace(base, bytes.count, &offset, &line, &lineStart)
    }

    @inline(__always)
    private static func skipWhitespace(_ base: UnsafePointer<UInt8>, _ end: Int, _ offset: inout Int,
                                       _ line: inout Int, _ lineStart: inout Int) {
        var index = offset
        while index < end {
            let byte = base[index]
            if byte == UInt8(ascii: " ") {
                index += 1
                skipSpaces(base, end, &index)
            } else if byte == UInt8(ascii: "\n") {
                index += 1
                line += 1
                lineStart = index
                skipSpaces(base, end, &index)
            } else if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t") {
                index += 1
            } else {
                break
            }
        }
        offset = index
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
                let word = JSONWords.load(at: index, of: base)
                let attention = JSONWords.stringAttention(word)
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
                return (hasEscapes, seen & JSONWords.highBits == 0)
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
