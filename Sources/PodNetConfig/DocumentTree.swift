import Yams

/// A composed config document as the field readers see it: mappings, lists and
/// scalars with the type YAML resolves for each scalar, and the line and column
/// where each node starts. It does not depend on the parser that built it: YAML is
/// composed by Yams and converted, while JSON (the form of configs with thousands of
/// peers) is read directly by `JSONDocumentReader`, which yields the same tree.
struct DocumentTree: Equatable {
    enum Content: Equatable {
        case mapping([Member])
        case sequence([DocumentTree])
        case scalar(String, ScalarType)
        /// A YAML alias left unresolved by the composer; no field accepts one.
        case alias
    }

    struct Member: Equatable {
        var key: DocumentTree
        var value: DocumentTree
    }

    /// The type YAML's resolver gives a scalar (a quoted scalar is always a string).
    enum ScalarType: Equatable {
        case null
        /// nil when YAML called it a boolean but its text does not construct one.
        case bool(Bool?)
        case int
        case float
        case string
    }

    var content: Content
    /// 1-based, as YAML parsers report them (the column counts characters).
    var line: Int?
    var column: Int?
}

extension DocumentTree {
    /// The tree of a node composed by Yams.
    init(_ node: Node) {
        switch node {
        case .mapping(let mapping):
            content = .mapping(mapping.map { Member(key: DocumentTree($0.key), value: DocumentTree($0.value)) })
        case .sequence(let sequence):
            content = .sequence(sequence.map(DocumentTree.init))
        case .alias:
            content = .alias
        case .scalar(let scalar):
            let type: ScalarType
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: type = .null
            case .bool: type = .bool(node.bool)
            case .int: type = .int
            case .float: type = .float
            default: type = .string
            }
            content = .scalar(scalar.string, type)
        }
        line = node.mark?.line
        column = node.mark?.column
    }
}
