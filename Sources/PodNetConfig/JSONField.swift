import PodNet

/// A value of an input file, where it was written and the path to it, for reading
/// with messages that name all three (`cluster.json:4:75: items[0].spec...: ...`).
struct JSONField {
    var value: JSONValue
    var positions: JSONPositions
    var path: FieldPath
    var file: String

    /// The value the scanner is at, at `path` of `file`, of the parts `shape` keeps.
    static func read(_ scanner: inout JSONScanner, path: FieldPath, file: String,
                     keeping shape: JSONShape = .whole) throws(JSONScanner.SyntaxError) -> JSONField {
        let (value, positions) = try JSONValue.read(&scanner, keeping: shape)
        return JSONField(value: value, positions: positions, path: path, file: file)
    }

    var location: SourceLocation {
        SourceLocation(file: file, fieldPath: path, line: positions.line, column: positions.column)
    }

    var isNull: Bool { value.isNull }

    /// The member `key` (the last, as JSON readers keep it), absent when missing or null
    /// (as the API server treats null).
    func member(_ key: String) -> JSONField? {
        guard case .object(let members) = value, let index = members.lastIndex(where: { $0.key == key }),
              !members[index].value.isNull else { return nil }
        return JSONField(value: members[index].value, positions: positions.children[index],
                         path: path.appending(key), file: file)
    }

    private func mismatch(_ expected: String, _ diagnostics: inout Diagnostics) {
        diagnostics.error(location, "expected \(expected), got \(value.kindDescription)")
    }

    func object(_ diagnostics: inout Diagnostics) -> [(key: String, value: JSONField)]? {
        guard case .object(let members) = value else {
            mismatch("an object", &diagnostics)
            return nil
        }
        return zip(members, positions.children).map { member, positions in
            (member.key, JSONField(value: member.value, positions: positions, path: path.appending(member.key), file: file))
        }
    }

    func array(_ diagnostics: inout Diagnostics) -> [JSONField]? {
        guard case .array(let elements) = value else {
            mismatch("a list", &diagnostics)
            return nil
        }
        return zip(elements, positions.children).enumerated().map { index, element in
            JSONField(value: element.0, positions: element.1, path: path.appending(index: index), file: file)
        }
    }

    func string(_ diagnostics: inout Diagnostics) -> String? {
        guard case .string(let text) = value else {
            mismatch("a string", &diagnostics)
            return nil
        }
        return text
    }

    func bool(_ diagnostics: inout Diagnostics) -> Bool? {
        guard case .bool(let flag) = value else {
            mismatch("a boolean", &diagnostics)
            return nil
        }
        return flag
    }

    /// A port number 1..65535.
    func port(_ diagnostics: inout Diagnostics) -> UInt16? {
        guard case .number(let text) = value else {
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
