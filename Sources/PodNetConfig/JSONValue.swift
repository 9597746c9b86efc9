/// A whole JSON document as a value, for inputs read entirely (a CNI request, an
/// allocation record, one item of a cluster List, whose `kind` may come after its
/// `spec`) rather than walked (a NodeList). Members keep their order, and a number
/// keeps its text, so that a value read and written again is the one given (libcni
/// hands a plugin's unknown fields, and its prevResult, back as they were). Where each
/// value was written is not part of it (two equal documents are equal however they
/// were laid out): a reader that reports problems at a line and column asks for the
/// `JSONPositions` beside it.
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

    /// Deeper than any CNI request, allocation record or Kubernetes object; hostile
    /// input fails cleanly instead of exhausting the stack.
    static let maxDepth = 128

    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(SyntaxError) -> JSONValue in
            try parse(buffer, recordingPositions: false).value
        }
    }

    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, recordingPositions: Bool) throws(SyntaxError)
        -> (value: JSONValue, positions: JSONPositions?) {
        var scanner = JSONScanner(bytes)
        do throws(JSONScanner.SyntaxError) {
            let read = try readValue(&scanner, depth: 0, recordingPositions: recordingPositions, shape: .whole)
            try scanner.expectEnd()
            return read
        } catch {
            let (line, column) = scanner.position(of: error.offset)
            throw SyntaxError(line: line, column: column, message: error.message)
        }
    }

    /// The value the scanner is at, with positions, of the parts `shape` keeps (for a
    /// reader that walks a document itself and builds only some of its values).
    static func read(_ scanner: inout JSONScanner, keeping shape: JSONShape = .whole)
        throws(JSONScanner.SyntaxError) -> (value: JSONValue, positions: JSONPositions) {
        let (value, positions) = try readValue(&scanner, depth: 0, recordingPositions: true, shape: shape)
        return (value, positions!)
    }

    private static func readValue(_ scanner: inout JSONScanner, depth: Int, recordingPositions: Bool, shape: JSONShape)
        throws(JSONScanner.SyntaxError) -> (value: JSONValue, positions: JSONPositions?) {
        let kind = try scanner.peekKind()
        let start = recordingPositions ? scanner.position(of: scanner.offset) : nil
        if depth >= maxDepth, kind == .object || kind == .array {
            throw JSONScanner.SyntaxError(offset: scanner.offset, message: "nested deeper than \(maxDepth) levels")
        }
        var children: [JSONPositions] = []
        let value: JSONValue
        switch kind {
        case .object:
            try scanner.beginObject()
            var members: [Member] = []
            while let key = try scanner.nextKey() {
                var memberShape = JSONShape.whole
                if case .members(let kept) = shape {
                    guard let kept = kept[key] else {
                        try scanner.skipValue()
                        continue
                    }
                    memberShape = kept
                }
                let member = try readValue(&scanner, depth: depth + 1, recordingPositions: recordingPositions,
                                           shape: memberShape)
                members.append(Member(key, member.value))
                if let positions = member.positions { children.append(positions) }
            }
            value = .object(members)
        case .array:
            try scanner.beginArray()
            var elements: [JSONValue] = []
            while try scanner.nextElement() {
                let element = try readValue(&scanner, depth: depth + 1, recordingPositions: recordingPositions, shape: shape)
                elements.append(element.value)
                if let positions = element.positions { children.append(positions) }
            }
            value = .array(elements)
        case .string: value = .string(try scanner.readString())
        case .number: value = .number(try scanner.readNumberText())
        case .bool: value = .bool(try scanner.readBool())
        case .null:
            try scanner.readNull()
            value = .null
        }
        return (value, start.map { JSONPositions(line: $0.line, column: $0.column, children: children) })
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

    /// What the value is, for "expected X, got Y" messages (with a scalar's value, as
    /// the config file's reader says it).
    public var kindDescription: String {
        switch self {
        case .object: return "an object"
        case .array: return "a list"
        case .string(let text): return "a string (\"\(text)\")"
        case .number(let text): return "a number (\(text))"
        case .bool(let value): return "a boolean (\(value))"
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

/// The parts of a JSON value a reader looks at; the rest is skipped while scanning (its
/// syntax still checked) and never built: of a Node as kubectl prints it, the images,
/// conditions and annotations; of any item, its status and managed fields.
indirect enum JSONShape: Sendable {
    /// The value whole.
    case whole
    /// Of an object, the members named here, each with its shape (the others are left
    /// out); of a list, each element with this shape; any other value whole.
    case members([String: JSONShape])
}

/// Where a JSON value starts in its text (1-based line, byte column) and where each
/// value inside it does: a tree of the value's shape, children in the order of its
/// members or elements. Kept for inputs whose every problem is reported at its line and
/// column (a cluster List), not for those answered as a whole (a CNI request).
struct JSONPositions: Sendable {
    var line: Int
    var column: Int
    var children: [JSONPositions]
}
