/// A whole JSON document as a value, for inputs read entirely (a CNI request, an
/// allocation record) rather than walked (a NodeList). Members keep their order, and a
/// number keeps its text, so that a value read and written again is the one given
/// (libcni hands a plugin's unknown fields, and its prevResult, back as they were).
public enum JSONValue: Sendable, Equatable {
    case object([Member])
    case array([JSONValue])
    case string(String)
    /// The number's text as written.
    case number(String)
    case bool(Bool)
    case null

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue

        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// A syntax error: where (1-based line and byte column) and what.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var message: String

        public var description: String { "line \(line), column \(column): \(message)" }
    }

    /// Deeper than any CNI request or record; hostile input fails cleanly instead of
    /// exhausting the stack.
    static let maxDepth = 64

    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(SyntaxError) -> JSONValue in
            var scanner = JSONScanner(buffer)
            do throws(JSONScanner.SyntaxError) {
                let value = try readValue(&scanner, depth: 0)
                try scanner.expectEnd()
                return value
            } catch {
                let (line, column) = scanner.position(of: error.offset)
                throw SyntaxError(line: line, column: column, message: error.message)
            }
        }
    }

    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private static func readValue(_ scanner: inout JSONScanner, depth: Int) throws(JSONScanner.SyntaxError) -> JSONValue {
        let kind = try scanner.peekKind()
        if depth > maxDepth, kind == .object || kind == .array {
            throw JSONScanner.SyntaxError(offset: scanner.offset, message: "nested deeper than \(maxDepth) levels")
        }
        switch kind {
        case .object:
            try scanner.beginObject()
            var members: [Member] = []
            while let key = try scanner.nextKey() {
                members.append(Member(key, try readValue(&scanner, depth: depth + 1)))
            }
            return .object(members)
        case .array:
            try scanner.beginArray()
            var elements: [JSONValue] = []
            while try scanner.nextElement() {
                elements.append(try readValue(&scanner, depth: depth + 1))
            }
            return .array(elements)
        case .string: return .string(try scanner.readString())
        case .number: return .number(try scanner.readNumberText())
        case .bool: return .bool(try scanner.readBool())
        case .null:
            try scanner.readNull()
            return .null
        }
    }

    // MARK: Reading values

    /// The value of `key` in an object (the last one, as most JSON readers keep); nil
    /// for a missing key or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var members: [Member]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A number that is a whole number in Int's range.
    public var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// What the value is, for "expected X, got Y" messages.
    public var kindDescription: String {
        switch self {
        case .object: return "an object"
        case .array: return "a list"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }

    // MARK: Writing

    /// Compact JSON text: strings escaped as RFC 8259 requires (quote, backslash and
    /// control characters), everything else as UTF-8.
    public var serialized: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        write(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public func write(to bytes: inout [UInt8]) {
        switch self {
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                member.value.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                element.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .string(let text): Self.writeString(text, to: &bytes)
        case .number(let text): bytes.append(contentsOf: text.utf8)
        case .bool(let value): bytes.append(contentsOf: (value ? "true" : "false").utf8)
        case .null: bytes.append(contentsOf: "null".utf8)
        }
    }

    private static func writeString(_ text: String, to bytes: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
}

extension JSONValue {
    /// An object from key-value pairs, in order; nil values are left out.
    public static func object(_ pairs: KeyValuePairs<String, JSONValue?>) -> JSONValue {
        .object(pairs.compactMap { key, value in value.map { Member(key, $0) } })
    }
}
