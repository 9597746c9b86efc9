#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNetConfig
import PodNetDataplane
import PodNetSystem

/// The allocations under `dataDir`: a record goes to a temporary file and is renamed
/// into place, under an flock'd lock file, so a podnet killed at any moment leaves a
/// record whole or absent (the page cache keeps what a killed process wrote), and two
/// ADDs (containerd runs them in parallel) never pick one address.
///
/// Nothing is fsynced: a record matters only while the pod it describes lives, and no
/// pod survives what an fsync guards against (a power loss or kernel crash takes every
/// network namespace with it). After one, a record may be lost (its pod is gone too),
/// a removed one may come back (its namespace is gone: it is left out of the node, and
/// GC releases it), or a new one may be found empty (its data never reached the disk):
/// such a record is removed. The reference host-local plugin does not fsync either.
///
/// `dataDir/allocations/CONTAINERID@IFNAME` holds one attachment's record (a container
/// ID has no '@', so the name splits back unambiguously); `dataDir/lock` is the lock;
/// `dataDir/node` the record of the node-level state (`NodeStamp`).
public struct AllocationStore: Sendable {
    public var directory: String
    public var lockWait: Duration

    public init(directory: String, lockWait: Duration = .seconds(60)) {
        self.directory = directory
        self.lockWait = lockWait
    }

    var recordsDirectory: String { directory + "/allocations" }
    var lockPath: String { directory + "/lock" }
    static let temporarySuffix = ".tmp"

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var errno: Int32?
        public var problem: String?
        /// Another request held the lock for longer than the wait.
        public var timedOut = false

        public var description: String {
            var text = "\(operation) \(path)"
            if let errno { text += ": " + String(cString: strerror(errno)) }
            if let problem { text += ": " + problem }
            return text
        }
    }

    /// Runs `body` holding the store's lock (the directories are made when missing);
    /// temporary files a killed run left are removed first.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        try makeDirectory(directory)
        try makeDirectory(recordsDirectory)
        return try holdingLock(create: true, body)
    }

    /// Runs `body` holding the store's lock when the store exists, and without it when it
    /// does not: nothing is made. For the commands that read the store beside the plugin
    /// (apply, teardown, watch): only the plugin makes a store, and one removed while such
    /// a command runs (`rm -r` of the data directory) is not made again under the removal,
    /// which then fails on the directory watch filled in meanwhile.
    public func withLockIfPresent<T>(_ body: () throws -> T) throws -> T {
        try holdingLock(create: false, body)
    }

    /// `body` under the lock, after the sweep of temporary files; without `create`, a
    /// missing lock file is a store that is not there, and `body` runs without a lock.
    private func holdingLock<T>(create: Bool, _ body: () throws -> T) throws -> T {
        let descriptor: Int32
        do {
            descriptor = try FileLock(path: lockPath, wait: lockWait, create: create).acquire()
        } catch .file(errno: ENOENT) where !create {
            return try body()
        } catch .file(let code) {
            throw Failure(path: lockPath, operation: "lock", errno: code)
        } catch .timeout {
            throw Failure(path: lockPath, operation: "lock", problem: "another podnet held it for longer than \(lockWait)",
                          timedOut: true)
        }
        defer { close(descriptor) }
        try removeTemporaryFiles()
        return try body()
    }

    /// Every allocation, sorted; an absent store holds none. Records are renamed into
    /// place whole, so reading needs no lock. A record a power loss left empty is removed.
    public func all() throws(Failure) -> [Allocation] {
        guard let names = try fileNames(in: recordsDirectory) else { return [] }
        var allocations: [Allocation] = []
        for name in names where !name.hasSuffix(Self.temporarySuffix) && !name.hasPrefix(".") {
            let path = recordsDirectory + "/" + name
            let bytes: [UInt8]
            switch InputFile.read(path: path) {
            case .success(let read): bytes = read
            case .failure(let failure) where failure.errno == ENOENT: continue  // released meanwhile
            case .failure(let failure): throw Failure(path: path, operation: "read", errno: failure.errno)
            }
            // Never a record being written (that is a temporary file until whole): one
            // whose pod went with the power, removed so that it is not met again.
            if Self.isTorn(bytes) {
                unlink(path)
                continue
            }
            guard let value = try? JSONValue.parse(bytes), let allocation = Allocation(value) else {
                throw Failure(path: path, operation: "read", problem: "not an allocation record")
            }
            allocations.append(allocation)
        }
        return allocations.sorted { $0.id < $1.id }
    }

    public func find(_ id: AttachmentID) throws(Failure) -> Allocation? {
        try all().first { $0.id == id }
    }

    /// A record renamed into place whose data a power loss kept from the disk: empty,
    /// or zeros (no record podnet writes is either).
    static func isTorn(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0 } }

    /// Writes `allocation`'s record: temporary file, then renamed into place.
    public func write(_ allocation: Allocation) throws(Failure) {
        var bytes: [UInt8] = []
        allocation.json.write(to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        try writeWhole(recordPath(allocation.id), bytes)
    }

    /// `bytes` at `path`, whole or not at all: a temporary file (`temporary`, by default
    /// the path's own) renamed into place.
    func writeWhole(_ path: String, _ bytes: [UInt8], temporary: String? = nil) throws(Failure) {
        let temporary = temporary ?? path + Self.temporarySuffix
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(path: temporary, operation: "create", errno: errno) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(descriptor)
                unlink(temporary)
                throw Failure(path: temporary, operation: "write", errno: code)
            }
            written += count
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw Failure(path: path, operation: "rename into", errno: code)
        }
    }

    /// Removes `id`'s record; nothing to do when there is none.
    public func remove(_ id: AttachmentID) throws(Failure) {
        let path = recordPath(id)
        guard unlink(path) == 0 || errno == ENOENT else {
            throw Failure(path: path, operation: "remove", errno: errno)
        }
    }

    func recordPath(_ id: AttachmentID) -> String {
        recordsDirectory + "/" + id.containerID + "@" + id.ifname
    }

    /// Records are written under the store's lock, so any temporary record is a killed
    /// run's. The node record is written under the node's lock instead, by a process
    /// whose id the temporary name carries: only those of processes that are gone are
    /// removed (a live one may be writing).
    private func removeTemporaryFiles() throws(Failure) {
        for name in try fileNames(in: recordsDirectory) ?? [] where name.hasSuffix(Self.temporarySuffix) {
            unlink(recordsDirectory + "/" + name)
        }
        for name in try fileNames(in: directory) ?? [] {
            guard let writer = Self.writer(ofTemporary: name), kill(writer, 0) != 0, errno == ESRCH else { continue }
            unlink(directory + "/" + name)
        }
    }

    /// The process id in `BASE.PID.tmp`, the name `replaceWhole` gives its temporary
    /// file; nil for any other name.
    private static func writer(ofTemporary name: String) -> pid_t? {
        guard name.hasSuffix(temporarySuffix) else { return nil }
        let stem = name.dropLast(temporarySuffix.count)
        guard let dot = stem.lastIndex(of: "."), let pid = pid_t(stem[stem.index(after: dot)...]), pid > 0
        else { return nil }
        return pid
    }

    private func makeDirectory(_ path: String) throws(Failure) {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw Failure(path: path, operation: "create the directory", errno: errno)
        }
    }

    /// The names in `path`; nil when it does not exist.
    private func fileNames(in path: String) throws(Failure) -> [String]? {
        guard let stream = opendir(path) else {
            if errno == ENOENT { return nil }
            throw Failure(path: path, operation: "list", errno: errno)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

extension AllocationStore {
    var nodeStampPath: String { directory + "/node" }

    /// The node-level state podnet last made or checked whole through this store
    /// (`NodeStamp`), nil when unknown. A request on a node that still matches it needs
    /// no node-level work: no table read, even beside kube-proxy's 50,000 nat rules.
    public func nodeStamp() -> NodeStamp? {
        guard case .success(let bytes) = InputFile.read(path: nodeStampPath) else { return nil }
        return NodeStamp(text: String(decoding: bytes, as: UTF8.self))
    }

    /// Records the stamp after the node-level state was made or checked whole; nil
    /// forgets it (a failed or partial run, a teardown). A node-level ADD writes it under
    /// the namespace's lock, `podnet apply` under the store's: two writers can meet, so
    /// each writes its own temporary file (named after its process) and the last rename
    /// wins; both describe the same records, config and kernel then.
    public func recordNodeStamp(_ stamp: NodeStamp?) throws(Failure) {
        try replaceWhole(nodeStampPath, with: stamp.map { Array($0.text.utf8) })
    }

    /// `path` replaced whole by `bytes` through a temporary file named after this process
    /// (writers of the node's files may meet; the last rename wins), or removed for nil.
    private func replaceWhole(_ path: String, with bytes: [UInt8]?) throws(Failure) {
        guard let bytes else {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw Failure(path: path, operation: "remove", errno: errno)
            }
            return
        }
        try writeWhole(path, bytes, temporary: "\(path).\(getpid())\(Self.temporarySuffix)")
    }
}
