/// The kinds of Kubernetes object podnet reads.
public enum ObjectKind: String, Sendable, Hashable, Comparable, CaseIterable {
    case node = "Node"
    case namespace = "Namespace"
    case pod = "Pod"
    case networkPolicy = "NetworkPolicy"

    /// Cluster-scoped kinds have no namespace.
    var namespaced: Bool { self == .pod || self == .networkPolicy }

    public static func < (lhs: ObjectKind, rhs: ObjectKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An object's identity: what a later event about the same object names again.
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var kind: ObjectKind
    /// Empty for cluster-scoped kinds.
    public var namespace: String
    public var name: String

    public init(kind: ObjectKind, namespace: String = "", name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String {
        kind.rawValue.lowercased() + " " + (namespace.isEmpty ? name : namespace + "/" + name)
    }

    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        (lhs.kind, lhs.namespace, lhs.name) < (rhs.kind, rhs.namespace, rhs.name)
    }
}

/// One object as the API server printed it: its key and its JSON text.
public struct ClusterObject: Sendable, Hashable {
    public var key: ObjectKey
    public var json: [UInt8]

    public init(key: ObjectKey, json: [UInt8]) {
        self.key = key
        self.json = json
    }
}

/// One document of a watch stream (`kubectl get KIND -w --output-watch-events -o json`):
/// an event about one object, or a whole List, which stands for every object of the
/// kinds it holds (a resync: what it does not hold is gone).
public enum WatchDocument: Sendable {
    case event(WatchEvent)
    case list(kinds: Set<ObjectKind>, [ClusterObject])
    /// A BOOKMARK: the stream's position only.
    case bookmark

    /// Reads one framed document. `source` names it in messages ("events.json, event 3").
    public static func read(_ bytes: [UInt8], source: String) throws(ConfigError) -> WatchDocument {
        func failure(_ message: String, at offset: Int? = nil, scanner: JSONScanner? = nil) -> ConfigError {
            let position = offset.flatMap { offset in scanner.map { $0.position(of: offset) } }
            return ConfigError(diagnostics: [ConfigDiagnostic(file: source, fieldPath: "", line: position?.line,
                                                              column: position?.column, message: message)])
        }
        // The top level's members; the object and the items are kept as text.
        struct Members {
            var type: String?
            var kind: String?
            var object: [UInt8]?
            var items: [[UInt8]]?
        }
        let members = bytes.withUnsafeBufferPointer { buffer -> Result<Members, ConfigError> in
            var scanner = JSONScanner(buffer)
            var members = Members()
            do throws(JSONScanner.SyntaxError) {
                guard try scanner.peekKind() == .object else {
                    return .failure(failure("not a watch event: expected an object (kubectl get -w --output-watch-events -o json)"))
                }
                try scanner.beginObject()
                while let key = try scanner.nextKey() {
                    switch key {
                    case "type" where try scanner.peekKind() == .string: members.type = try scanner.readString()
                    case "object": members.object = Array(try scanner.skipValueText())
                    case "kind" where try scanner.peekKind() == .string: members.kind = try scanner.readString()
                    case "items" where try scanner.peekKind() == .array:
                        var texts: [[UInt8]] = []
                        try scanner.beginArray()
                        while try scanner.nextElement() { texts.append(Array(try scanner.skipValueText())) }
                        members.items = texts
                    default: try scanner.skipValue()
                    }
                }
                try scanner.expectEnd()
            } catch {
                return .failure(failure("JSON syntax error: \(error.message)", at: error.offset, scanner: scanner))
            }
            return .success(members)
        }
        let document = try members.get()
        if let items = document.items, document.type == nil {
            guard let kind = document.kind, kind.hasSuffix("List") else {
                throw failure("a document with items that is no List (kind \(document.kind ?? "missing"))")
            }
            let itemKind = kind == "List" ? nil : ObjectKind(rawValue: String(kind.dropLast(4)))
            var objects: [ClusterObject] = []
            var kinds: Set<ObjectKind> = itemKind.map { [$0] } ?? []
            for (index, item) in items.enumerated() {
                let object = try ClusterObject.read(item, source: "\(source): items[\(index)]", kind: itemKind)
                kinds.insert(object.key.kind)
                objects.append(object)
            }
            return .list(kinds: kinds, objects)
        }
        guard let type = document.type else {
            throw failure("not a watch event: no type (kubectl prints events with --output-watch-events)")
        }
        switch type {
        case "BOOKMARK": return .bookmark
        case "ERROR":
            throw failure("the stream reports an error: " + (document.object.map { String(decoding: $0, as: UTF8.self) } ?? ""))
        default: break
        }
        guard let change = WatchEvent.Change(rawValue: type) else {
            throw failure("unknown event type \(type) (expected ADDED, MODIFIED, DELETED or BOOKMARK)")
        }
        guard let object = document.object else { throw failure("a \(type) event without an object") }
        return .event(WatchEvent(change: change, object: try ClusterObject.read(object, source: "\(source): object")))
    }
}

/// An object added, changed or deleted.
public struct WatchEvent: Sendable {
    public enum Change: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    public var change: Change
    public var object: ClusterObject

    public init(change: Change, object: ClusterObject) {
        self.change = change
        self.object = object
    }
}

extension ClusterObject {
    /// The key of an object's text: its kind (or the List's item kind), namespace and name.
    static func read(_ text: [UInt8], source: String, kind listKind: ObjectKind? = nil) throws(ConfigError) -> ClusterObject {
        func failure(_ message: String) -> ConfigError {
            ConfigError(diagnostics: [ConfigDiagnostic(file: source, fieldPath: "", message: message)])
        }
        struct Identity {
            var kind: String?
            var namespace: String?
            var name: String?
        }
        let scanned = text.withUnsafeBufferPointer { buffer -> Result<Identity, JSONScanner.SyntaxError> in
            var scanner = JSONScanner(buffer)
            var identity = Identity()
            do throws(JSONScanner.SyntaxError) {
                guard try scanner.peekKind() == .object else { return .success(identity) }
                try scanner.beginObject()
                while let key = try scanner.nextKey() {
                    switch key {
                    case "kind" where try scanner.peekKind() == .string: identity.kind = try scanner.readString()
                    case "metadata" where try scanner.peekKind() == .object:
                        try scanner.beginObject()
                        while let field = try scanner.nextKey() {
                            switch field {
                            case "name" where try scanner.peekKind() == .string: identity.name = try scanner.readString()
                            case "namespace" where try scanner.peekKind() == .string: identity.namespace = try scanner.readString()
                            default: try scanner.skipValue()
                            }
                        }
                    default: try scanner.skipValue()
                    }
                }
            } catch {
                return .failure(error)
            }
            return .success(identity)
        }
        let identity: Identity
        switch scanned {
        case .success(let found): identity = found
        case .failure(let error): throw failure("JSON syntax error: \(error.message)")
        }
        guard let kind = identity.kind.flatMap(ObjectKind.init(rawValue:)) ?? (identity.kind == nil ? listKind : nil) else {
            throw failure("kind: \(identity.kind.map { "\($0) is not a kind podnet reads" } ?? "required") "
                          + "(Node, Namespace, Pod or NetworkPolicy)")
        }
        guard let name = identity.name, !name.isEmpty else { throw failure("metadata.name: required") }
        let namespace = kind.namespaced ? (identity.namespace ?? "") : ""
        if kind.namespaced, namespace.isEmpty { throw failure("metadata.namespace: required for a \(kind.rawValue)") }
        return ClusterObject(key: ObjectKey(kind: kind, namespace: namespace, name: name), json: text)
    }
}
