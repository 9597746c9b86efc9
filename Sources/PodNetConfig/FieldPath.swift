/// The path from a document's root to one value: `peers[2].podCIDRs[0]`.
struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    private(set) var components: [Component] = []

    static let root = FieldPath()

    init(components: [Component] = []) {
        self.components = components
    }

    func appending(_ key: String) -> FieldPath {
        var path = self
        path.components.append(.key(key))
        return path
    }

    func appending(index: Int) -> FieldPath {
        var path = self
        path.components.append(.index(index))
        return path
    }

    var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key): text += text.isEmpty ? key : "." + key
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}

/// Where a value came from: the file, the field path and, for YAML/JSON config
/// files, the line and column of the value itself.
struct SourceLocation: Hashable, Sendable {
    var file: String
    var fieldPath: FieldPath
    var line: Int?
    var column: Int?

    /// A location inside this one. Its position is unknown unless `keepingPosition`
    /// (a missing key is reported where its mapping starts).
    func appending(_ key: String, keepingPosition: Bool = false) -> SourceLocation {
        SourceLocation(file: file, fieldPath: fieldPath.appending(key),
                       line: keepingPosition ? line : nil, column: keepingPosition ? column : nil)
    }
}

/// Where a value came from, worked out into a `SourceLocation` only when a message
/// needs one: most values of a 50,000-peer config are never reported, and building a
/// field path for each cost more than reading them. A struct rather than an enum of
/// the two: a document's place is copied with every value read (a retain, where the
/// enum's copy went through its whole payload).
struct SourcePlace {
    /// A node of a config document: its path is walked up from the node.
    private let tree: DocumentTree?
    private let index: Int32
    /// Known already (NodeList items, whole files).
    private let known: SourceLocation?

    static func node(_ tree: DocumentTree, _ index: Int32) -> SourcePlace {
        SourcePlace(tree: tree, index: index, known: nil)
    }

    static func known(_ location: SourceLocation) -> SourcePlace {
        SourcePlace(tree: nil, index: 0, known: location)
    }

    var location: SourceLocation {
        if let tree { return tree.location(of: index) }
        return known!
    }
}

/// A value read from an input file, kept with its place so that checks that
/// compare several values can still point at the right one.
struct Located<Value> {
    var value: Value
    var place: SourcePlace

    var location: SourceLocation { place.location }

    init(value: Value, place: SourcePlace) {
        self.value = value
        self.place = place
    }

    init(value: Value, location: SourceLocation) {
        self.init(value: value, place: .known(location))
    }
}
