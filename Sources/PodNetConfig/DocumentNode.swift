import PodNet

/// A node of a composed YAML (or JSON) document with the field path that leads to
/// it. Its readers check the node's type and report what was expected and what was
/// found, at the node's line and column.
struct DocumentNode {
    let tree: DocumentTree
    let location: SourceLocation

    init(_ tree: DocumentTree, file: String, path: FieldPath) {
        self.tree = tree
        location = SourceLocation(file: file, fieldPath: path, line: tree.line, column: tree.column)
    }

    /// The scalar's type as YAML resolved it (a quoted scalar is always a string).
    private var scalarType: DocumentTree.ScalarType? {
        guard case .scalar(_, let type) = tree.content else { return nil }
        return type
    }

    var isNull: Bool { scalarType == .null }

    /// What the node is, for "expected X, got Y" messages.
    var kindDescription: String {
        switch tree.content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let text, let type):
            switch type {
            case .null: return "an empty value"
            case .bool: return "a boolean (\(text))"
            case .int, .float: return "a number (\(text))"
            case .string: return "a string (\"\(text)\")"
            }
        }
    }

    private func child(_ tree: DocumentTree, _ path: FieldPath) -> DocumentNode {
        DocumentNode(tree, file: location.file, path: path)
    }

    func typeMismatch(expected: String, _ diagnostics: inout Diagnostics) {
        diagnostics.error(location, "expected \(expected), got \(kindDescription)")
    }

    // MARK: Containers

    /// The node as a mapping whose keys are `Key`'s cases; any other key is reported
    /// with the nearest valid one. Null values count as absent, so that a section
    /// with every entry commented out means its default.
    func fields<Key: DocumentKey>(_: Key.Type, _ diagnostics: inout Diagnostics) -> Fields<Key>? {
        guard case .mapping(let members) = tree.content else {
            typeMismatch(expected: Key.expectation, &diagnostics)
            return nil
        }
        var values: [(Key, DocumentNode)] = []
        values.reserveCapacity(members.count)
        for member in members {
            guard case .scalar(let keyText, _) = member.key.content else {
                let keyDocument = child(member.key, location.fieldPath)
                diagnostics.error(keyDocument.location, "keys must be plain names, got \(keyDocument.kindDescription)")
                continue
            }
            guard let key = Key(rawValue: keyText) else {
                let keyLocation = child(member.key, location.fieldPath.appending(keyText)).location
                let valid = Key.allCases.map(\.rawValue)
                if let nearest = NearestName.suggestion(for: keyText, among: valid) {
                    diagnostics.error(keyLocation, "unknown key (did you mean \(nearest)?)")
                } else {
                    diagnostics.error(keyLocation, "unknown key (valid keys: \(valid.joined(separator: ", ")))")
                }
                continue
            }
            let value = child(member.value, location.fieldPath.appending(key.rawValue))
            if !value.isNull {
                // A duplicate key was refused by the parser; keep the last as YAML would.
                values.removeAll { $0.0 == key }
                values.append((key, value))
            }
        }
        return Fields(node: self, values: values)
    }

    /// The node's elements, each with its indexed path.
    func elements(expected: String, _ diagnostics: inout Diagnostics) -> [DocumentNode]? {
        guard case .sequence(let sequence) = tree.content else {
            typeMismatch(expected: expected, &diagnostics)
            return nil
        }
        return sequence.enumerated().map { child($1, location.fieldPath.appending(index: $0)) }
    }

    /// A list whose elements are read by `read`; `isComplete` is false when the list
    /// or one of its elements was refused, so that checks relying on what is absent
    /// from the list do not pile up on the reported problem.
    func list<Element>(of elementDescription: String, _ diagnostics: inout Diagnostics,
                       _ read: (DocumentNode, inout Diagnostics) -> Element?) -> LocatedList<Element> {
        let before = diagnostics.errorCount
        guard let nodes = elements(expected: "a list of \(elementDescription)", &diagnostics) else {
            return LocatedList(items: [], location: location, isComplete: false)
        }
        let items = nodes.compactMap { node in
            read(node, &diagnostics).map { Located(value: $0, location: node.location) }
        }
        return LocatedList(items: items, location: location, isComplete: diagnostics.errorCount == before)
    }

    // MARK: Scalars

    /// The scalar's text, whatever YAML resolved it to: a name like `no` or `1e3`
    /// stays the text the user wrote.
    func string(expected: String = "a string", _ diagnostics: inout Diagnostics) -> String? {
        guard case .scalar(let text, let type) = tree.content, type != .null else {
            typeMismatch(expected: expected, &diagnostics)
            return nil
        }
        return text
    }

    func bool(_ diagnostics: inout Diagnostics) -> Bool? {
        guard case .bool(let value?)? = scalarType else {
            typeMismatch(expected: "true or false", &diagnostics)
            return nil
        }
        return value
    }

    /// An integer written in decimal, or in hex as `0x...` when `allowHexString`
    /// (also quoted, since a mark bit reads naturally as "0x4000").
    func integer(in range: ClosedRange<Int64>, expected: String = "an integer", allowHexString: Bool = false,
                 _ diagnostics: inout Diagnostics) -> Int64? {
        guard case .scalar(let text, let type) = tree.content,
              type == .int || (allowHexString && type == .string) else {
            typeMismatch(expected: expected, &diagnostics)
            return nil
        }
        let value: Int64?
        if allowHexString, text.hasPrefix("0x") || text.hasPrefix("0X") {
            value = Int64(text.dropFirst(2), radix: 16)
        } else if type == .int {
            value = Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text)
        } else {
            value = nil
        }
        guard let value else {
            diagnostics.error(location, "\"\(text)\" is not \(expected)")
            return nil
        }
        guard range.contains(value) else {
            diagnostics.error(location, "\(text) is out of range (\(range.lowerBound)..\(range.upperBound))")
            return nil
        }
        return value
    }

    /// One of an enumeration's values, with the nearest one suggested.
    func choice<Value: RawRepresentable & CaseIterable>(_: Value.Type, _ diagnostics: inout Diagnostics) -> Value?
    where Value.RawValue == String {
        // The common case first, without building the list of valid values.
        if case .scalar(let text, let type) = tree.content, type != .null, let value = Value(rawValue: text) {
            return value
        }
        let valid = Value.allCases.map(\.rawValue)
        guard let text = string(expected: "one of \(valid.joined(separator: ", "))", &diagnostics) else { return nil }
        if let value = Value(rawValue: text) { return value }
        let hint = NearestName.suggestion(for: text, among: valid).map { " (did you mean \($0)?)" } ?? ""
        diagnostics.error(location, "\"\(text)\" is not one of \(valid.joined(separator: ", "))\(hint)")
        return nil
    }

    func ipAddress(_ diagnostics: inout Diagnostics) -> IPAddress? {
        guard let text = string(expected: "an IP address string", &diagnostics) else { return nil }
        guard let address = IPAddress(text) else {
            diagnostics.error(location, "\"\(text)\" is not an IP address")
            return nil
        }
        return address
    }

    func network(_ diagnostics: inout Diagnostics) -> IPNetwork? {
        guard let text = string(expected: "a CIDR string", &diagnostics) else { return nil }
        do {
            return try IPNetwork(parsing: text)
        } catch {
            diagnostics.error(location, error.description)
            return nil
        }
    }

    func port(_ diagnostics: inout Diagnostics) -> UInt16? {
        integer(in: 1...65535, expected: "a port number (1..65535)", &diagnostics).map { UInt16($0) }
    }
}

/// The keys of one mapping of the config schema.
protocol DocumentKey: RawRepresentable<String>, CaseIterable, Hashable {
    /// What a value of this mapping is, for "expected ..., got ..." messages.
    static var expectation: String { get }
}

/// A mapping's values by key, with the mapping itself for "required" problems.
struct Fields<Key: DocumentKey> {
    let node: DocumentNode
    /// In document order; a handful of keys, so a list beats hashing them (a config
    /// with 5,000 peers reads 5,000 such mappings).
    let values: [(Key, DocumentNode)]

    subscript(key: Key) -> DocumentNode? { values.first { $0.0 == key }?.1 }

    /// The value of a key that must be present, reporting its absence at the mapping.
    func required(_ key: Key, _ diagnostics: inout Diagnostics) -> DocumentNode? {
        if let value = self[key] { return value }
        diagnostics.error(node.location.appending(key.rawValue, keepingPosition: true), "required")
        return nil
    }
}

/// A list read from a document: its valid items, and whether every element was valid.
struct LocatedList<Element> {
    var items: [Located<Element>]
    var location: SourceLocation
    var isComplete: Bool

    var values: [Element] { items.map(\.value) }
}
