#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNet
import PodNetConfig
import PodNetSystem

/// The pods that came, went or changed since the cluster List was recorded
/// (`dataDir/cluster.changes`), so that `podnet watch` keeps the List the CNI plugin's
/// node-level runs compile from without writing the whole of it for every pod: a List of
/// 10,000 pods is 96 MB, a pod a few kilobytes. A node-level run reads the List and then
/// these changes (`recordedCluster`), and so keeps the set members and named-port rules the
/// watch made.
///
/// One line per change, `{"namespace": N, "name": P, "pod": OBJECT-or-null}` (JSON has
/// no raw newline inside a string, so an object is put on one line by turning its newlines
/// into spaces), appended with one write(2): a reader, which holds no lock a writer takes,
/// may find the last line cut short, and reads only the lines ended by a newline. The
/// first line names the List the changes follow (its inode, size and modification time):
/// a List recorded since (a whole apply renames a new one into place) makes them void,
/// also when a run was killed before it removed them.
public struct ClusterChange: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// The pod's object as the watch has it; nil once it is gone.
    public var pod: [UInt8]?

    public init(namespace: String, name: String, pod: [UInt8]?) {
        self.namespace = namespace
        self.name = name
        self.pod = pod
    }

    /// The change's line, newline included.
    var line: [UInt8] {
        var bytes = Array(#"{"namespace":"#.utf8)
        JSONValue.string(namespace).write(to: &bytes)
        bytes += Array(#","name":"#.utf8)
        JSONValue.string(name).write(to: &bytes)
        bytes += Array(#","pod":"#.utf8)
        if let pod {
            bytes += pod.map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? UInt8(ascii: " ") : $0 }
        } else {
            bytes += Array("null".utf8)
        }
        bytes += Array("}\n".utf8)
        return bytes
    }

    /// A line read back; nil for one that is not a change (never written by podnet).
    init?(line: ArraySlice<UInt8>) {
        guard case .object(let members)? = try? JSONValue.parse(Array(line)) else { return nil }
        var namespace: String?, name: String?, pod: [UInt8]??
        for member in members {
            let value = member.value
            switch (member.key, value) {
            case ("namespace", .string(let text)): namespace = text
            case ("name", .string(let text)): name = text
            case ("pod", .null): pod = .some(nil)
            case ("pod", .object):
                var bytes: [UInt8] = []
                value.write(to: &bytes)
                pod = .some(bytes)
            default: break
            }
        }
        guard let namespace, let name, let pod else { return nil }
        self.init(namespace: namespace, name: name, pod: pod)
    }
}

extension AllocationStore {
    var clusterChangesPath: String { directory + "/cluster.changes" }

    /// The recorded List's identity, as the changes' first line names it; nil without one.
    private var clusterListIdentity: [UInt8]? {
        var status = stat()
        guard stat(clusterListPath, &status) == 0 else { return nil }
        return Array("podnet pod changes after \(clusterListPath) inode \(status.st_ino) size \(status.st_size) modified \(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)\n".utf8)
    }

    /// Appends `changes` to those of the recorded List (a new file, renamed into place,
    /// when there are none yet for this List). Nothing to do without a recorded List.
    public func recordClusterChanges(_ changes: [ClusterChange]) throws(Failure) {
        guard !changes.isEmpty, let identity = clusterListIdentity else { return }
        let lines = changes.flatMap(\.line)
        guard clusterChangesHeader() == identity else {
            try writeWhole(clusterChangesPath, identity + lines, temporary: "\(clusterChangesPath).\(getpid())\(Self.temporarySuffix)")
            return
        }
        let descriptor = open(clusterChangesPath, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(path: clusterChangesPath, operation: "open", errno: errno) }
        defer { close(descriptor) }
        // One write: a reader sees whole lines and at most one cut short at the end.
        let written = lines.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress!, $0.count) }
        guard written == lines.count else {
            let code = written < 0 ? errno : EIO
            // A line cut short would glue onto the next append: this List's changes start again.
            unlink(clusterChangesPath)
            throw Failure(path: clusterChangesPath, operation: "append to", errno: code)
        }
    }

    /// The size of the recorded changes in bytes (0 without them), against the List's:
    /// `podnet watch` records the List whole again when they have grown to half of it.
    public var clusterChangesSize: (changes: Int, list: Int) {
        var changes = stat(), list = stat()
        return (stat(clusterChangesPath, &changes) == 0 ? Int(changes.st_size) : 0,
                stat(clusterListPath, &list) == 0 ? Int(list.st_size) : 0)
    }

    /// The changes recorded after the List as it is now, in order; none when they follow
    /// another List (or there are none).
    public func recordedClusterChanges() -> [ClusterChange] {
        guard let identity = clusterListIdentity, case .success(let bytes) = InputFile.read(path: clusterChangesPath),
              bytes.starts(with: identity) else { return [] }
        var changes: [ClusterChange] = []
        var start = identity.count
        while let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            if let change = ClusterChange(line: bytes[start..<end]) { changes.append(change) }
            start = end + 1
        }
        return changes
    }

    /// The namespaces, pods and policies of the recorded List with the pod changes
    /// recorded after it, loaded beside the node config; nil without a List.
    public func recordedCluster(nodeConfigPath: String) throws(ConfigError) -> ClusterState? {
        guard let path = recordedClusterList else { return nil }
        var cluster = try ConfigLoader.load(configPath: nodeConfigPath, clusterPath: path).cluster
        let changes = recordedClusterChanges()
        if !changes.isEmpty {
            try cluster?.apply(changes, configText: try ConfigLoader.configText(path: nodeConfigPath),
                               configName: nodeConfigPath, changesName: clusterChangesPath)
        }
        return cluster
    }

    /// Removes the recorded changes (a List recorded whole has them).
    func forgetClusterChanges() {
        unlink(clusterChangesPath)
    }

    /// The first line of the changes file (nil when there is none).
    private func clusterChangesHeader() -> [UInt8]? {
        let descriptor = open(clusterChangesPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, $0.count) }
        guard count > 0, let end = buffer[..<count].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        return Array(buffer[...end])
    }
}

extension ClusterState {
    /// The List's pods with `changes` made to them (the last change of a pod counts),
    /// the changed pods read as the items of a List beside the node config are.
    public mutating func apply(_ changes: [ClusterChange], configText: String, configName: String,
                               changesName: String) throws(ConfigError) {
        guard !changes.isEmpty else { return }
        var changed = WatchedObjects()
        var keys = Set<ObjectKey>()
        for change in changes {
            let key = ObjectKey(kind: .pod, namespace: change.namespace, name: change.name)
            keys.insert(key)
            if let pod = change.pod { changed.insert(ClusterObject(key: key, json: pod)) } else { changed.remove(key) }
        }
        let loaded = try ConfigLoader.load(configText: configText, configName: configName, nodeList: nil,
                                           cluster: (data: changed.list(of: [.pod]), name: changesName))
        pods = pods.filter { !keys.contains(ObjectKey(kind: .pod, namespace: $0.namespace, name: $0.name)) }
            + (loaded.cluster?.pods ?? [])
    }
}
