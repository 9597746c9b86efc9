import PodNet

/// A node of a composed YAML (or JSON) document. Its readers check the node's type
/// and report what was expected and what was found, at the node's field path, line
/// and column (worked out from the tree only then).
struct DocumentNode {
    let tree: DocumentTree
    let index: Int32

    init(_ tree: DocumentTree, _ index: Int32 = DocumentTree.root) {
        self.tree = tree
        self.index = index
    }

    var place: SourcePlace { .node(tree, index) }
    var location: SourceLocation { tree.location(of: index) }

    private var node: DocumentTree.Node { tree[index] }

    /// The scalar's text as a String (for a message, or a field kept as text).
    private var text: String { tree.text(of: index) }

    /// The scalar's type as YAML resolved it (a quoted scalar is always a string).
    private var scalarType: DocumentTree.ScalarType? {
        guard case .scalar(let type) = node.kind else { return nil }
        return type
    }

    var isNull: Bool { scalarType == .null }

    /// What the node is, for "expected X, got Y" messages.
    var kindDescription: String {
        switch node.kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let type):
            switch type {
            case .null: return "an empty value"
            case .bool: return "a boolean (\(text))"
            case .int, .float: return "a number (\(text))"
            case .string: return "a string (\"\(text)\")"
            }
        }
    }

    private func child(_ index: Int32) -> DocumentNode {
        DocumentNode(tree, index)
    }

    func typeMismatch(expected: String, _ diagnostics: inout Diagnostics) {
        diagnostics.error(location, "expected \(expected), got \(kindDescription)")
    }

    // MARK: Containers

    /// The node as a mapping whose keys are `Key`'s cases; any other key is reported
    /// with the nearest valid one. Null values count as absent, so that a section
    /// with every entry commented out means its default.
    func fields<Key: DocumentKey>(_: Key.Type, _ diagnostics: inout Diagnostics) -> Fields<Key>? {
        guard node.kind == .mapping else {
            typeMismatch(expected: Key.expectation, &diagnostics)
            return nil
        }
        var values: [(Key, Int32)] = []
        values.reserveCapacity(8)  // a mapping of the config has a handful of keys: no regrowth
        // Keys and values alternate; a key's location is its own, at the path of the
        // value it names.
        var children = tree.children(of: index)
        while let keyIndex = children.next(), let valueIndex = children.next() {
            guard case .scalar = tree[keyIndex].kind else {
                let key = child(keyIndex)
                diagnostics.error(key.location, "keys must be plain names, got \(key.kindDescription)")
                continue
            }
            guard let key = tree.withText(of: keyIndex, Key.init(named:)) else {
                let keyLocation = child(keyIndex).location
                let valid = Key.allCases.map(\.rawValue)
                if let nearest = NearestName.suggestion(for: tree.text(of: keyIndex), among: valid) {
                    diagnostics.error(keyLocation, "unknown key (did you mean \(nearest)?)")
                } else {
                    diagnostics.error(keyLocation, "unknown key (valid keys: \(valid.joined(separator: ", ")))")
                }
                continue
            }
            // (Both parsers refuse a duplicate key, so each key comes once.)
            if tree[valueIndex].kind != .scalar(.null) { values.append((key, valueIndex)) }
        }
        return Fields(node: self, values: values)
    }

    /// What `read` makes of each element of the list (the elements it refuses left
    /// out), read straight from the tree's links with room for all reserved: a
    /// 5,000-peer config has 10,000 lists and 5,000 large entries. nil when the node
    /// is no list (the expectation is put into words only then: 10,000 lists of a
    /// 5,000-peer config are read without it).
    func entries<Entry>(expected: @autoclosure () -> String, _ diagnostics: inout Diagnostics,
                        _ read: (DocumentNode, inout Diagnostics) -> Entry?) -> [Entry]? {
        guard node.kind == .sequence else {
            typeMismatch(expected: expected(), &diagnostics)
            return nil
        }
        var entries: [Entry] = []
        entries.reserveCapacity(tree.children(of: index).reduce(into: 0) { count, _ in count += 1 })
        for elementIndex in tree.children(of: index) {
            if let entry = read(child(elementIndex), &diagnostics) { entries.append(consume entry) }
        }
        return entries
    }

    /// A list whose elements are read by `read`; `isComplete` is false when the list
    /// or one of its elements was refused, so that checks relying on what is absent
    /// from the list do not pile up on the reported problem.
    func list<Element>(of elementDescription: String, _ diagnostics: inout Diagnostics,
                       _ read: (DocumentNode, inout Diagnostics) -> Element?) -> LocatedList<Element> {
        let before = diagnostics.errorCount
        let items = entries(expected: "a list of \(elementDescription)", &diagnostics) { element, diagnostics in
            read(element, &diagnostics).map { Located(value: $0, place: element.place) }
        }
        return LocatedList(items: items ?? [], place: place, isComplete: items != nil && diagnostics.errorCount == before)
    }

    // MARK: Scalars

    /// Whether the node has a text to read as a string: a scalar of any type but null.
    private var isText: Bool {
        guard case .scalar(let type) = node.kind else { return false }
        return type != .null
    }

    /// The scalar's text, whatever YAML resolved it to: a name like `no` or `1e3`
    /// stays the text the user wrote.
    func string(expected: String = "a string", _ diagnostics: inout Diagnostics) -> String? {
        guard isText else {
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
        guard case .scalar(let type) = node.kind, type == .int || (allowHexString && type == .string) else {
            typeMismatch(expected: expected, &diagnostics)
            return nil
        }
        let text = self.text
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
        if case .scalar(let type) = node.kind, type != .null, let value = Value(rawValue: text) {
            return value
        }
        let valid = Value.allCases.map(\.rawValue)
        guard let text = string(expected: "one of \(valid.joined(separator: ", "))", &diagnostics) else { return nil }
        if let value = Value(rawValue: text) { return value }
        let hint = NearestName.suggestion(for: text, among: valid).map { " (did you mean \($0)?)" } ?? ""
        diagnostics.error(location, "\"\(text)\" is not one of \(valid.joined(separator: ", "))\(hint)")
        return nil
    }

    /// Read from the scalar's bytes: a String is made only for a message.
    func ipAddress(_ diagnostics: inout Diagnostics) -> IPAddress? {
        guard isText else {
            typeMismatch(expected: "an IP address string", &diagnostics)
            return nil
        }
        guard let address = tree.withText(of: index, IPAddress.parse) else {
            diagnostics.error(location, "\"\(text)\" is not an IP address")
            return nil
        }
        return address
    }

    func network(_ diagnostics: inout Diagnostics) -> IPNetwork? {
        guard isText else {
            typeMismatch(expected: "a CIDR string", &diagnostics)
            return nil
        }
        do throws(IPNetwork.ParseError) {
            return try tree.withText(of: index) { bytes throws(IPNetwork.ParseError) in try IPNetwork(parsing: bytes) }
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

extension DocumentKey {
    /// The key named by a key node's bytes, compared in place (a 50,000-peer config
    /// has 150,000 keys, and a String for each cost more than the comparison).
    init?(named bytes: UnsafeBufferPointer<UInt8>) {
        guard let key = Self.allCases.first(where: { DocumentTree.bytes(bytes, are: $0.rawValue) }) else { return nil }
        self = key
    }
}

/// A mapping's values by key, with the mapping itself for "required" problems.
struct Fields<Key: DocumentKey> {
    let node: DocumentNode
    /// In document order; a handful of keys, so a list beats hashing them (a config
    /// with 5,000 peers reads 5,000 such mappings).
    let values: [(Key, Int32)]

    subscript(key: Key) -> DocumentNode? {
        values.first { $0.0 == key }.map { DocumentNode(node.tree, $0.1) }
    }

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
    var place: SourcePlace
    var isComplete: Bool

    var location: SourceLocation { place.location }
    var values: [Element] { items.map(\.value) }

    init(items: [Located<Element>], place: SourcePlace, isComplete: Bool) {
        self.items = items
        self.place = place
        self.isComplete = isComplete
    }

    init(items: [Located<Element>], location: SourceLocation, isComplete: Bool) {
        self.init(items: items, place: .known(location), isComplete: isComplete)
    }
}
