#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNetConfig
import PodNetSystem

/// The allocations under `dataDir`, written as databases write: a record goes to a
/// temporary file, is fsynced and renamed into place (and the directory fsynced), all
/// under an flock'd lock file, so a podnet killed at any moment leaves a record whole
/// or absent, and two ADDs (containerd runs them in parallel) never pick one address.
///
/// `dataDir/allocations/CONTAINERID@IFNAME` holds one attachment's record (a container
/// ID has no '@', so the name splits back unambiguously); `dataDir/lock` is the lock.
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
        do {
            return try FileLock(path: lockPath, wait: lockWait).withLock {
                try removeTemporaryFiles()
                return try body()
            }
        } catch FileLock.Failure.file(let code) {
            throw Failure(path: lockPath, operation: "lock", errno: code)
        } catch FileLock.Failure.timeout {
            throw Failure(path: lockPath, operation: "lock", problem: "another podnet held it for longer than \(lockWait)")
        }
    }

    /// Every allocation, sorted; an absent store holds none. Records are renamed into
    /// place whole, so reading needs no lock.
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

    /// Writes `allocation`'s record: temporary file, fsync, rename, fsync of the directory.
    public func write(_ allocation: Allocation) throws(Failure) {
        var bytes: [UInt8] = []
        allocation.json.write(to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        try writeWhole(recordPath(allocation.id), bytes, directory: recordsDirectory)
    }

    /// `bytes` at `path`, whole or not at all: temporary file, fsync, rename, fsync of `directory`.
    func writeWhole(_ path: String, _ bytes: [UInt8], directory: String) throws(Failure) {
        let temporary = path + Self.temporarySuffix
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
        guard fsync(descriptor) == 0 else {
            let code = errno
            close(descriptor)
            unlink(temporary)
            throw Failure(path: temporary, operation: "fsync", errno: code)
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw Failure(path: path, operation: "rename into", errno: code)
        }
        try syncDirectory(directory)
    }

    /// Removes `id`'s record; nothing to do when there is none.
    public func remove(_ id: AttachmentID) throws(Failure) {
        let path = recordPath(id)
        guard unlink(path) == 0 else {
            if errno == ENOENT { return }
            throw Failure(path: path, operation: "remove", errno: errno)
        }
        try syncDirectory(recordsDirectory)
    }

    func recordPath(_ id: AttachmentID) -> String {
        recordsDirectory + "/" + id.containerID + "@" + id.ifname
    }

    private func removeTemporaryFiles() throws(Failure) {
        for name in try fileNames(in: recordsDirectory) ?? [] where name.hasSuffix(Self.temporarySuffix) {
            unlink(recordsDirectory + "/" + name)
        }
        unlink(tablesDigestPath + Self.temporarySuffix)
    }

    private func syncDirectory(_ path: String) throws(Failure) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(path: path, operation: "open", errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw Failure(path: path, operation: "fsync", errno: errno) }
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
    var tablesDigestPath: String { directory + "/tables" }

    /// The digest of the tables podnet last wrote through this store (`TableState.digest`),
    /// nil when unknown. A request whose tables have this digest needs no table read:
    /// the tables are those it wants, unless something other than podnet changed them,
    /// which `podnet apply` repairs.
    public func tablesDigest() -> String? {
        guard case .success(let bytes) = InputFile.read(path: tablesDigestPath) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingNewline
        return text.isEmpty ? nil : text
    }

    /// Records the tables' digest after they were written (or checked) whole.
    public func recordTablesDigest(_ digest: String?) throws(Failure) {
        guard let digest else {
            guard unlink(tablesDigestPath) == 0 || errno == ENOENT else {
                throw Failure(path: tablesDigestPath, operation: "remove", errno: errno)
            }
            return
        }
        try writeWhole(tablesDigestPath, Array((digest + "\n").utf8), directory: directory)
    }
}

extension String {
    fileprivate var trimmingNewline: String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
