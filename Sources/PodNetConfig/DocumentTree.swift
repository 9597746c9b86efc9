/// A composed config document as the field readers see it: mappings, lists and
/// scalars with the type YAML resolves for each scalar, and the line and column
/// where each node starts. It does not depend on the parser that built it: YAML is
/// read by `YAMLDocumentReader` (libyaml's events), while JSON (the form of configs with
/// thousands of peers) is read directly by `JSONDocumentReader`, which yields the same tree.
///
/// The nodes live in one flat array, in document order (a mapping's key before its
/// value), linked to their parent and siblings: reading a 5,000-peer config makes no
/// allocation per node, and a node's field path (`peers[12].podCIDRs[0]`) is worked
/// out from the links only when a message needs it.
final class DocumentTree: Sendable {
    enum Kind: Equatable, Sendable {
        case mapping
        case sequence
        case scalar(ScalarType)
        /// A YAML alias left unresolved by the composer; no field accepts one.
        case alias
    }

    /// The type YAML's resolver gives a scalar (a quoted scalar is always a string).
    enum ScalarType: Equatable, Sendable {
        case null
        /// nil when YAML called it a boolean but its text does not construct one.
        case bool(Bool?)
        case int
        case float
        case string
    }

    struct Node: Equatable, Sendable {
        var kind: Kind
        /// A scalar's text; empty for the others.
        var text: String
        /// 1-based, as YAML parsers report them (the column counts characters); 0 unknown.
        var line: Int32
        var column: Int32
        var parent: Int32 = -1
        var firstChild: Int32 = -1
        var lastChild: Int32 = -1
        var nextSibling: Int32 = -1
        /// Under a sequence: the element's index. Under a mapping: -1 for a key, and
        /// for a value the index of its key node.
        var slot: Int32 = -1
    }

    let file: String
    let nodes: [Node]

    init(file: String, nodes: [Node]) {
        self.file = file
        self.nodes = nodes
    }

    static let root: Int32 = 0

    /// Lent, not copied: a copy would retain and release the node's text each time a
    /// reader looks at a field of it.
    subscript(index: Int32) -> Node {
        _read { yield nodes[Int(index)] }
    }

    /// A node's children in order, along the sibling links (no array is built): for
    /// a mapping, key and value alternate.
    func children(of index: Int32) -> Children {
        Children(nodes, of: index)
    }

    /// The children of one node of a node array (a tree's, or a builder's while it
    /// reads): the one walk of the sibling links.
    struct Children: Sequence, IteratorProtocol {
        let nodes: [Node]
        var upcoming: Int32

        init(_ nodes: [Node], of index: Int32) {
            self.nodes = nodes
            upcoming = nodes[Int(index)].firstChild
        }

        mutating func next() -> Int32? {
            guard upcoming >= 0 else { return nil }
            defer { upcoming = nodes[Int(upcoming)].nextSibling }
            return upcoming
        }
    }

    /// The path from the root: a value under its key, an element by its index, and a
    /// key at the path of the value it names (at its mapping when it is no scalar).
    func fieldPath(of index: Int32) -> FieldPath {
        var components: [FieldPath.Component] = []
        var current = index
        while true {
            let node = self[current]
            guard node.parent >= 0 else { break }
            if self[node.parent].kind == .sequence {
                components.append(.index(Int(node.slot)))
            } else if node.slot >= 0 {
                components.append(.key(self[node.slot].text))
            } else if case .scalar = node.kind {
                components.append(.key(node.text))
            }
            current = node.parent
        }
        return FieldPath(components: components.reversed())
    }

    func location(of index: Int32) -> SourceLocation {
        let node = self[index]
        return SourceLocation(file: file, fieldPath: fieldPath(of: index),
                              line: node.line > 0 ? Int(node.line) : nil, column: node.column > 0 ? Int(node.column) : nil)
    }
}

extension DocumentTree: Equatable {
    static func == (lhs: DocumentTree, rhs: DocumentTree) -> Bool { lhs.nodes == rhs.nodes }
}

/// Appends nodes in document order, linking each to its parent and siblings.
struct DocumentTreeBuilder {
    private(set) var nodes: [DocumentTree.Node] = []
    /// The containers being filled, innermost last.
    private var open: [Int32] = []
    /// Per open mapping: the key whose value comes next.
    private var pendingKey: [Int32] = []

    init(capacity: Int = 0) {
        nodes.reserveCapacity(capacity)
    }

    /// Adds a node under the innermost open container; a container stays open (its
    /// children follow) until `close`.
    @discardableResult
    mutating func add(_ kind: DocumentTree.Kind, text: String = "", line: Int, column: Int) -> Int32 {
        let index = Int32(nodes.count)
        var node = DocumentTree.Node(kind: kind, text: text, line: Int32(clamping: line), column: Int32(clamping: column))
        if let parent = open.last {
            node.parent = parent
            let parentIndex = Int(parent)
            if nodes[parentIndex].kind == .mapping {
                if pendingKey[pendingKey.count - 1] < 0 {
                    pendingKey[pendingKey.count - 1] = index
                } else {
                    node.slot = pendingKey[pendingKey.count - 1]
                    pendingKey[pendingKey.count - 1] = -1
                }
            } else {
                let previous = nodes[parentIndex].lastChild
                node.slot = previous < 0 ? 0 : nodes[Int(previous)].slot + 1
            }
            let previous = nodes[parentIndex].lastChild
            if previous < 0 { nodes[parentIndex].firstChild = index } else { nodes[Int(previous)].nextSibling = index }
            nodes[parentIndex].lastChild = index
        }
        nodes.append(node)
        if kind == .mapping || kind == .sequence {
            open.append(index)
            pendingKey.append(-1)
        }
        return index
    }

    /// Whether the mapping at `index` already holds `key` (its keys are the children
    /// with no key slot of their own).
    func mapping(_ index: Int32, hasKey key: String) -> Bool {
        children(of: index).contains { nodes[Int($0)].slot < 0 && nodes[Int($0)].text == key }
    }

    /// The children added so far under `index` (not to be held while adding: it would
    /// copy the node array on the next append).
    func children(of index: Int32) -> DocumentTree.Children {
        DocumentTree.Children(nodes, of: index)
    }

    /// Ends the innermost open mapping or sequence.
    mutating func close() {
        open.removeLast()
        pendingKey.removeLast()
    }

    func build(file: String) -> DocumentTree {
        DocumentTree(file: file, nodes: nodes)
    }
}
