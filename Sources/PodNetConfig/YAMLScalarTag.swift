/// The tag YAML 1.1's implicit resolution gives a plain scalar, as the resolver
/// podnet's YAML reading has always followed (Yams' default: bool, int, float, merge,
/// null, timestamp, value, in that order; the first pattern that matches the whole
/// text wins, anything else is a string). Written as small matchers over the bytes
/// rather than regular expressions: no regex engine (and no ICU) in the binary, and a
/// differential test holds them to the patterns.
enum YAMLScalarTag: Equatable, Sendable {
    case null, bool, int, float, string
    case merge, timestamp, value
    /// An explicit tag podnet has no type for (kept for comparing keys).
    case other(String)

    /// The tag of an explicit `!!name` (or `tag:yaml.org,2002:name`); "!" (non-specific) is a string.
    init(explicit name: String) {
        switch name {
        case "!", "tag:yaml.org,2002:str": self = .string
        case "tag:yaml.org,2002:null": self = .null
        case "tag:yaml.org,2002:bool": self = .bool
        case "tag:yaml.org,2002:int": self = .int
        case "tag:yaml.org,2002:float": self = .float
        case "tag:yaml.org,2002:merge": self = .merge
        case "tag:yaml.org,2002:timestamp": self = .timestamp
        case "tag:yaml.org,2002:value": self = .value
        default: self = .other(name)
        }
    }

    /// Implicit resolution of a plain scalar's text.
    init(resolving text: String) {
        var text = text
        self = text.withUTF8 { Self.resolve(YAMLText($0)) }
    }

    private static func resolve(_ text: YAMLText) -> YAMLScalarTag {
        if isBool(text) { return .bool }
        if isInt(text) { return .int }
        if isFloat(text) { return .float }
        if text.equals("<<") { return .merge }
        if text.count == 0 || text.equals("~") || text.equals("null") || text.equals("Null") || text.equals("NULL") {
            return .null
        }
        if isTimestamp(text) { return .timestamp }
        if text.equals("=") { return .value }
        return .string
    }

    /// The type a field reader sees for a scalar of this tag and `text`; a boolean
    /// carries its value when the text constructs one (`!!bool maybe` does not).
    func scalarType(of text: String) -> DocumentTree.ScalarType {
        switch self {
        case .null: return .null
        case .bool: return .bool(Self.boolValue(text))
        case .int: return .int
        case .float: return .float
        case .string, .merge, .timestamp, .value, .other: return .string
        }
    }

    /// A boolean's value: true/yes/on or false/no/off in any letter case.
    private static func boolValue(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    // MARK: the patterns

    private static let bools: Set<String> = ["yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE",
                                             "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"]

    private static func isBool(_ text: YAMLText) -> Bool {
        text.count <= 5 && bools.contains(text.string)
    }

    /// `[-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    /// | [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`
    private static func isInt(_ text: YAMLText) -> Bool {
        var reader = text.reader
        reader.skipSign()
        let start = reader
        if reader.skip("0") {
            if reader.atEnd { return true }
            var binary = reader
            if binary.skip("b"), binary.skipAll(isBinaryDigit) > 0, binary.atEnd { return true }
            var hex = reader
            if hex.skip("x"), hex.skipAll(isHexDigit) > 0, hex.atEnd { return true }
            var octal = reader
            _ = octal.skip("o")
            if octal.skipAll(isOctalDigit) > 0, octal.atEnd { return true }
            return false
        }
        reader = start
        guard reader.skipOne(isNonZeroDigit) else { return false }
        reader.skipAll(isDigitOrUnderscore)
        if reader.atEnd { return true }
        return reader.skipSexagesimalGroups() && reader.atEnd
    }

    /// `[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)? | \.[0-9_]+([eE][-+][0-9]+)?
    /// | [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
    private static func isFloat(_ text: YAMLText) -> Bool {
        var reader = text.reader
        if reader.peek == UInt8(ascii: ".") {
            // Unsigned: `.5`, `.5e+3`, `.nan`, `.inf`.
            var unsigned = reader
            unsigned.advance()
            if unsigned.rest(isOneOf: ["nan", "NaN", "NAN", "inf", "Inf", "INF"]) { return true }
            if unsigned.skipAll(isDigitOrUnderscore) > 0 {
                if unsigned.atEnd { return true }
                return unsigned.skipOne { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
                    && unsigned.skipOne { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }
                    && unsigned.skipAll(isDigit) > 0 && unsigned.atEnd
            }
            return false
        }
        reader.skipSign()
        if reader.peek == UInt8(ascii: ".") {
            reader.advance()
            return reader.rest(isOneOf: ["inf", "Inf", "INF"])
        }
        guard reader.skipOne(isDigit) else { return false }
        reader.skipAll(isDigitOrUnderscore)
        let afterInteger = reader
        // Sexagesimal: groups, then a mandatory fraction point.
        var sexagesimal = afterInteger
        if sexagesimal.peek == UInt8(ascii: ":") {
            guard sexagesimal.skipSexagesimalGroups(), sexagesimal.skip(".") else { return false }
            sexagesimal.skipAll(isDigitOrUnderscore)
            return sexagesimal.atEnd
        }
        if reader.skip(".") { reader.skipAll(isDigitOrUnderscore) }
        if reader.atEnd { return true }
        guard reader.skipOne({ $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else { return false }
        reader.skipSign()
        return reader.skipAll(isDigit) > 0 && reader.atEnd
    }

    /// `[0-9]{4}-[0-9]{2}-[0-9]{2}` or
    /// `[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?`
    private static func isTimestamp(_ text: YAMLText) -> Bool {
        var reader = text.reader
        guard reader.skipDigits(4...4), reader.skip("-") else { return false }
        var dateOnly = reader
        if dateOnly.skipDigits(2...2), dateOnly.skip("-"), dateOnly.skipDigits(2...2), dateOnly.atEnd { return true }
        guard reader.skipDigits(1...2), reader.skip("-"), reader.skipDigits(1...2) else { return false }
        if !reader.skipOne({ $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: "t") }) {
            guard reader.skipAll(isBlank) > 0 else { return false }
        }
        guard reader.skipDigits(1...2), reader.skip(":"), reader.skipDigits(2...2), reader.skip(":"),
              reader.skipDigits(2...2) else { return false }
        if reader.skip(".") { reader.skipAll(isDigit) }
        if reader.atEnd { return true }
        reader.skipAll(isBlank)
        if reader.skip("Z") { return reader.atEnd }
        guard reader.skipOne({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }), reader.skipDigits(1...2)
        else { return false }
        if reader.atEnd { return true }
        return reader.skip(":") && reader.skipDigits(2...2) && reader.atEnd
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isNonZeroDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") }
    private static func isDigitOrUnderscore(_ byte: UInt8) -> Bool { isDigit(byte) || byte == UInt8(ascii: "_") }
    private static func isBinaryDigit(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1") || byte == UInt8(ascii: "_")
    }
    private static func isOctalDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7")) || byte == UInt8(ascii: "_")
    }
    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigitOrUnderscore(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }
    private static func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
}

/// A scalar's UTF-8 bytes, borrowed for matching.
private struct YAMLText {
    let bytes: UnsafeBufferPointer<UInt8>

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var count: Int { bytes.count }
    var string: String { String(decoding: bytes, as: UTF8.self) }
    var reader: Reader { Reader(bytes: bytes, offset: 0) }

    func equals(_ literal: StaticString) -> Bool {
        literal.utf8CodeUnitCount == bytes.count
            && (0..<bytes.count).allSatisfy { literal.utf8Start[$0] == bytes[$0] }
    }

    /// A position in the text, moved forward by what it matches.
    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset: Int

        var atEnd: Bool { offset == bytes.count }
        var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }

        mutating func advance() { offset += 1 }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard peek == UInt8(ascii: character) else { return false }
            offset += 1
            return true
        }

        mutating func skipOne(_ accepts: (UInt8) -> Bool) -> Bool {
            guard let byte = peek, accepts(byte) else { return false }
            offset += 1
            return true
        }

        @discardableResult
        mutating func skipAll(_ accepts: (UInt8) -> Bool) -> Int {
            let start = offset
            while let byte = peek, accepts(byte) { offset += 1 }
            return offset - start
        }

        mutating func skipSign() {
            if peek == UInt8(ascii: "-") || peek == UInt8(ascii: "+") { offset += 1 }
        }

        /// Between `range.lowerBound` and `range.upperBound` decimal digits, as many as there are.
        mutating func skipDigits(_ range: ClosedRange<Int>) -> Bool {
            var count = 0
            while count < range.upperBound, let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                offset += 1
                count += 1
            }
            return count >= range.lowerBound
        }

        /// `(:[0-5]?[0-9])+`: two digits when the first is 0-5 and a second follows.
        mutating func skipSexagesimalGroups() -> Bool {
            var groups = 0
            while peek == UInt8(ascii: ":") {
                offset += 1
                guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return false }
                offset += 1
                if first <= UInt8(ascii: "5"), let second = peek, second >= UInt8(ascii: "0"), second <= UInt8(ascii: "9") {
                    offset += 1
                }
                groups += 1
            }
            return groups > 0
        }

        /// Whether the rest of the text is exactly one of `words`.
        mutating func rest(isOneOf words: [StaticString]) -> Bool {
            let remaining = bytes.count - offset
            for word in words where word.utf8CodeUnitCount == remaining {
                if (0..<remaining).allSatisfy({ word.utf8Start[$0] == bytes[offset + $0] }) {
                    offset = bytes.count
                    return true
                }
            }
            return false
        }
    }
}
