/// The path from a document's root to one value: `peers[2].podCIDRs[0]`.
struct FieldPath: Hashable, Sendable, CustomStringConvertible {
    enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    private(set) var components: [Component] = []

    static let root = FieldPath()

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

/// A value read from an input file, kept with its location so that checks that
/// compare several values can still point at the right one.
struct Located<Value> {
    var value: Value
    var location: SourceLocation
}
