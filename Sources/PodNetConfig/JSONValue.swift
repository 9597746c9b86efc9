import PodNet

/// A JSON value with the line and column where it starts: one item of a cluster List,
/// read whole so that its `kind` may come after its `spec`, then interpreted.
struct JSONValue {
    enum Content {
        case object([(key: String, value: JSONValue)])
        case array([JSONValue])
        case string(String)
        case number(String)
        case bool(Bool)
        case null
    }

    var content: Content
    var line: Int
    var column: Int

    /// Deeper than any Kubernetes object; a deeper one is refused rather than recursed into.
    static let maxDepth = 128

    static func read(_ scanner: inout JSONScanner, depth: Int = 0) throws(JSONScanner.SyntaxError) -> JSONValue {
        let kind = try scanner.peekKind()
        let (line, column) = scanner.position(of: scanner.offset)
        if kind == .object || kind == .array, depth >= maxDepth {
            throw JSONScanner.SyntaxError(offset: scanner.offset, message: "nested deeper than \(maxDepth) levels")
        }
        let content: Content
        switch kind {
        case .object:
            try scanner.beginObject()
            var members: [(key: String, value: JSONValue)] = []
            while let key = try scanner.nextKey() { members.append((key, try read(&scanner, depth: depth + 1))) }
            content = .object(members)
        case .array:
            try scanner.beginArray()
            var elements: [JSONValue] = []
            while try scanner.nextElement() { elements.append(try read(&scanner, depth: depth + 1)) }
            content = .array(elements)
        case .string: content = .string(try scanner.readString())
        case .number: content = .number(try scanner.readNumberText())
        case .bool: content = .bool(try scanner.readBool())
        case .null:
            try scanner.readNull()
            content = .null
        }
        return JSONValue(content: content, line: line, column: column)
    }

    var kindDescription: String {
        switch content {
        case .object: return "an object"
        case .array: return "a list"
        case .string(let text): return "a string (\"\(text)\")"
        case .number(let text): return "a number (\(text))"
        case .bool(let value): return "a boolean (\(value))"
        case .null: return "null"
        }
    }

    /// The member `key` of an object (the last, as JSON readers keep it).
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = content else { return nil }
        return members.last { $0.key == key }?.value
    }
}

/// A value of an input file and the path to it, for reading with messages that name both.
struct JSONField {
    var value: JSONValue
    var path: FieldPath
    var file: String

    var location: SourceLocation {
        SourceLocation(file: file, fieldPath: path, line: value.line, column: value.column)
    }

    var isNull: Bool { if case .null = value.content { true } else { false } }

    /// The member `key`, absent when missing or null (as the API server treats null).
    func member(_ key: String) -> JSONField? {
        guard let child = value[key] else { return nil }
        let field = JSONField(value: child, path: path.appending(key), file: file)
        return field.isNull ? nil : field
    }

    private func mismatch(_ expected: String, _ diagnostics: inout Diagnostics) {
        diagnostics.error(location, "expected \(expected), got \(value.kindDescription)")
    }

    func object(_ diagnostics: inout Diagnostics) -> [(key: String, value: JSONField)]? {
        guard case .object(let members) = value.content else {
            mismatch("an object", &diagnostics)
            return nil
        }
        return members.map { ($0.key, JSONField(value: $0.value, path: path.appending($0.key), file: file)) }
    }

    func array(_ diagnostics: inout Diagnostics) -> [JSONField]? {
        guard case .array(let elements) = value.content else {
            mismatch("a list", &diagnostics)
            return nil
        }
        return elements.enumerated().map { JSONField(value: $1, path: path.appending(index: $0), file: file) }
    }

    func string(_ diagnostics: inout Diagnostics) -> String? {
        guard case .string(let text) = value.content else {
            mismatch("a string", &diagnostics)
            return nil
        }
        return text
    }

    func bool(_ diagnostics: inout Diagnostics) -> Bool? {
        guard case .bool(let flag) = value.content else {
            mismatch("a boolean", &diagnostics)
            return nil
        }
        return flag
    }

    /// A port number 1..65535.
    func port(_ diagnostics: inout Diagnostics) -> UInt16? {
        guard case .number(let text) = value.content else {
            mismatch("a port number", &diagnostics)
            return nil
        }
        guard let number = Int(text), (1...65535).contains(number) else {
            diagnostics.error(location, "\(text) is out of range (1..65535)")
            return nil
        }
        return UInt16(number)
    }

    /// A map of strings (labels).
    func labels(_ diagnostics: inout Diagnostics) -> Labels? {
        guard let members = object(&diagnostics) else { return nil }
        var labels: Labels = [:]
        for (key, field) in members {
            if let text = field.string(&diagnostics) { labels[key] = text }
        }
        return labels
    }

    /// A list of strings.
    func strings(_ diagnostics: inout Diagnostics) -> [String] {
        (array(&diagnostics) ?? []).compactMap { $0.string(&diagnostics) }
    }
}
