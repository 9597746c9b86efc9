#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A composed config document as the field readers see it: mappings, lists and
/// scalars with the type YAML resolves for each scalar, and the line and column
/// where each node starts. It does not depend on the parser that built it: YAML is
/// read by `YAMLDocumentReader` (libyaml's events), while JSON (the form of configs with
/// thousands of peers) is read directly by `JSONDocumentReader`, which yields the same tree.
///
/// The nodes live in one flat array, in document order (a mapping's key before its
/// value), linked to their parent and siblings, and a scalar's text is a range of one
/// byte buffer (a JSON document's own bytes): reading a 50,000-peer config makes no
/// allocation per node, a String is made only for a field read as text, and a node's
/// field path (`peers[12].podCIDRs[0]`) is worked out from the links only when a
/// message needs it.
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
        /// A scalar's text: `textCount` bytes of the tree's `text` from `textStart`;
        /// empty for the others.
        var textStart: Int32 = 0
        var textCount: Int32 = 0
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
    /// The UTF-8 bytes the scalars' texts are ranges of.
    let text: [UInt8]

    init(file: String, nodes: [Node], text: [UInt8]) {
        self.file = file
        self.nodes = nodes
        self.text = text
    }

    static let root: Int32 = 0

    subscript(index: Int32) -> Node {
        nodes[Int(index)]
    }

    /// A scalar's text as a String, made when a field reads it as text.
    func text(of index: Int32) -> String {
        withText(of: index) { String(decoding: $0, as: UTF8.self) }
    }

    /// A scalar's text in place, for the duration of `body`: addresses, CIDRs and
    /// keys are read from the bytes, without a String.
    func withText<Result, Failure: Error>(of index: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Result)
        throws(Failure) -> Result {
        try Self.withText(of: nodes[Int(index)], in: text, body)
    }

    /// Whether a scalar's text is `string`, byte for byte.
    func text(of index: Int32, is string: String) -> Bool {
        withText(of: index) { Self.bytes($0, are: string) }
    }

    static func withText<Result, Failure: Error>(of node: Node, in text: [UInt8],
                                                 _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Result)
        throws(Failure) -> Result {
        try text.withUnsafeBufferPointer { all throws(Failure) in
            try body(UnsafeBufferPointer(rebasing: all[Int(node.textStart)..<Int(node.textStart + node.textCount)]))
        }
    }

    static func bytes(_ bytes: UnsafeBufferPointer<UInt8>, are string: String) -> Bool {
        var string = string
        return string.withUTF8 { same($0, bytes) }
    }

    static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
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
                components.append(.key(text(of: node.slot)))
            } else if case .scalar = node.kind {
                components.append(.key(text(of: current)))
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

    /// Whether node `index` and node `otherIndex` of `other` are the same node: kind,
    /// text, position and links (wherever their texts are kept).
    func sameNode(_ index: Int32, as otherIndex: Int32, of other: DocumentTree) -> Bool {
        var (node, otherNode) = (self[index], other[otherIndex])
        guard withText(of: index, { text in other.withText(of: otherIndex) { Self.same($0, text) } }) else { return false }
        (node.textStart, node.textCount) = (0, 0)
        (otherNode.textStart, otherNode.textCount) = (0, 0)
        return node == otherNode
    }
}

extension DocumentTree: Equatable {
    /// The same nodes with the same texts (a JSON tree's texts are ranges of its source,
    /// a YAML tree's of the scalars laid end to end).
    static func == (lhs: DocumentTree, rhs: DocumentTree) -> Bool {
        lhs.nodes.count == rhs.nodes.count
            && lhs.nodes.indices.allSatisfy { lhs.sameNode(Int32($0), as: Int32($0), of: rhs) }
    }
}

/// Appends nodes in document order, linking each to its parent and siblings.
struct DocumentTreeBuilder {
    private(set) var nodes: [DocumentTree.Node] = []
    /// The bytes of the scalars' texts: the source itself (JSON), or each text as added.
    private(set) var text: [UInt8]
    /// The container being filled (nil at the top), and the ones around it, innermost
    /// last: the innermost is kept apart so that adding a child updates a property,
    /// not an element of an array.
    private var current: OpenContainer?
    private var enclosing: [OpenContainer] = []

    /// A mapping or sequence whose children are being added.
    private struct OpenContainer {
        var index: Int32
        var isMapping: Bool
        /// Its last child so far (-1: none yet), linked to the next one.
        var lastChild: Int32 = -1
        /// A mapping's key whose value comes next (-1: a key comes next).
        var pendingKey: Int32 = -1
        /// A sequence's elements so far: the next one's index.
        var elements: Int32 = 0
    }

    /// A builder whose texts are added with the nodes (`add(_:text:line:column:)`).
    init(capacity: Int = 0) {
        text = []
        nodes.reserveCapacity(capacity)
    }

    /// A builder whose texts are ranges of `source` (`add(_:textStart:count:line:column:)`).
    init(source: [UInt8], capacity: Int) {
        text = source
        nodes.reserveCapacity(capacity)
    }

    /// Adds a node whose text is appended to the builder's bytes.
    @discardableResult
    mutating func add(_ kind: DocumentTree.Kind, text: String = "", line: Int, column: Int) -> Int32 {
        let start = self.text.count
        self.text.append(contentsOf: text.utf8)
        return add(kind, textStart: start, count: self.text.count - start, line: line, column: column)
    }

    /// Adds a node under the innermost open container, its text the `count` bytes
    /// from `textStart` of the builder's; a container stays open (its children
    /// follow) until `close`.
    @discardableResult
    mutating func add(_ kind: DocumentTree.Kind, textStart: Int, count: Int, line: Int, column: Int) -> Int32 {
        let index = Int32(nodes.count)
        var node = DocumentTree.Node(kind: kind, textStart: Int32(textStart), textCount: Int32(count),
                                     line: Int32(clamping: line), column: Int32(clamping: column))
        if var container = current {
            let parent = container.index
            node.parent = parent
            if !container.isMapping {
                node.slot = container.elements
                container.elements += 1
            } else if container.pendingKey < 0 {
                container.pendingKey = index
            } else {
                node.slot = container.pendingKey
                container.pendingKey = -1
            }
            let previous = container.lastChild
            if previous < 0 { nodes[Int(parent)].firstChild = index } else { nodes[Int(previous)].nextSibling = index }
            container.lastChild = index
            current = container
        }
        nodes.append(node)
        switch kind {
        case .mapping: open(OpenContainer(index: index, isMapping: true))
        case .sequence: open(OpenContainer(index: index, isMapping: false))
        case .scalar, .alias: break
        }
        return index
    }

    /// A node's text, as `DocumentTree.text(of:)`.
    func text(of index: Int32) -> String {
        DocumentTree.withText(of: nodes[Int(index)], in: text) { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether the mapping at `index` already holds a key whose text is the `count`
    /// bytes from `textStart` (its keys are the children with no key slot of their own).
    func mapping(_ index: Int32, hasKeyAt textStart: Int, count: Int) -> Bool {
        text.withUnsafeBufferPointer { text in
            let key = UnsafeBufferPointer(rebasing: text[textStart..<(textStart + count)])
            return children(of: index).contains { child in
                let node = nodes[Int(child)]
                return node.slot < 0 && DocumentTree.same(
                    UnsafeBufferPointer(rebasing: text[Int(node.textStart)..<Int(node.textStart + node.textCount)]), key)
            }
        }
    }

    /// The children added so far under `index` (not to be held while adding: it would
    /// copy the node array on the next append).
    func children(of index: Int32) -> DocumentTree.Children {
        DocumentTree.Children(nodes, of: index)
    }

    /// Ends the innermost open mapping or sequence.
    mutating func close() {
        let closed = current!
        nodes[Int(closed.index)].lastChild = closed.lastChild
        current = enclosing.popLast()
    }

    private mutating func open(_ container: OpenContainer) {
        if let current { enclosing.append(current) }
        current = container
    }

    func build(file: String) -> DocumentTree {
        DocumentTree(file: file, nodes: nodes, text: text)
    }
}
