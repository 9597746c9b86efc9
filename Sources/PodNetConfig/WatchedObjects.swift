import PodNet

/// The objects `podnet watch` knows of, each as the API server last printed it: the
/// snapshot it started from (`--nodes`, `--cluster`) with every watch event since taken
/// in. From them it makes the Lists a one-shot `podnet apply` would be given, so that
/// a full apply in watch mode is exactly that apply.
public struct WatchedObjects: Sendable {
    private var objects: [ObjectKey: [UInt8]] = [:]

    public init() {}

    public var count: Int { objects.count }

    public subscript(key: ObjectKey) -> [UInt8]? { objects[key] }

    /// The items of a List (`--nodes`, `--cluster`), kept by key.
    public mutating func take(list bytes: [UInt8], source: String) throws(ConfigError) {
        guard case .list(_, let items) = try WatchDocument.read(bytes, source: source) else {
            throw ConfigError(diagnostics: [ConfigDiagnostic(file: source, fieldPath: "", message: "a List is expected")])
        }
        for item in items { objects[item.key] = item.json }
    }

    /// Takes an event in; returns the object's text before it (nil: it was new).
    @discardableResult
    public mutating func take(_ event: WatchEvent) -> [UInt8]? {
        switch event.change {
        case .added, .modified: return objects.updateValue(event.object.json, forKey: event.object.key)
        case .deleted: return objects.removeValue(forKey: event.object.key)
        }
    }

    public mutating func insert(_ object: ClusterObject) { objects[object.key] = object.json }

    public mutating func remove(_ key: ObjectKey) { objects[key] = nil }

    /// A List stands for every object of its kinds: those it lacks are gone.
    public mutating func replace(kinds: Set<ObjectKind>, with items: [ClusterObject]) {
        objects = objects.filter { !kinds.contains($0.key.kind) }
        for item in items { objects[item.key] = item.json }
    }

    public func keys(of kinds: Set<ObjectKind>) -> [ObjectKey] { objects.keys.filter { kinds.contains($0.kind) } }

    public func contains(kind: ObjectKind) -> Bool { objects.keys.contains { $0.kind == kind } }

    /// A `kind: List` of the objects of `kinds`, in key order (the same objects make the
    /// same bytes), as kubectl would print them less its indentation.
    public func list(of kinds: Set<ObjectKind>) -> [UInt8] {
        var bytes = Array(#"{"apiVersion":"v1","kind":"List","items":["#.utf8)
        var first = true
        for key in objects.keys.filter({ kinds.contains($0.kind) }).sorted() {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            bytes.append(contentsOf: objects[key]!)
        }
        bytes.append(contentsOf: "]}\n".utf8)
        return bytes
    }
}
