#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNetSystem

/// One podnet run at a time per network namespace: held from observation to the
/// end of execution, so that two applies never act on a stale observation. A CNI
/// request that only attaches or detaches its own pod on a node whose node-level
/// state is in place holds it shared: such requests run beside each other (their
/// pods are disjoint), never beside an apply.
///
/// The lock file is named after the namespace's inode, so every name or path of
/// one namespace (/run/netns/NAME, /proc/PID/ns/net) finds the same lock.
public struct PodnetLock: Sendable {
    public var path: String
    public var wait: Duration

    public static let defaultDirectory = "/run/podnet"

    /// The lock of `namespace` (nil: the caller's own) under $PODNET_LOCK_DIR or /run/podnet.
    public static func forNamespace(_ namespace: NetworkNamespace?, wait: Duration) throws(DataplaneError) -> PodnetLock {
        let namespacePath = namespace?.path ?? "/proc/self/ns/net"
        var info = stat()
        guard stat(namespacePath, &info) == 0 else {
            throw .namespace(.open(path: namespacePath, errno: errno))
        }
        let directory = getenv("PODNET_LOCK_DIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
            ?? defaultDirectory
        return PodnetLock(path: "\(directory)/netns-\(info.st_dev)-\(info.st_ino).lock", wait: wait)
    }

    public init(path: String, wait: Duration) {
        self.path = path
        self.wait = wait
    }

    /// Runs `body` holding the lock (shared or exclusive), waiting for it at most `wait`,
    /// twice over at most (the turnstile, then the lock).
    ///
    /// flock favours no one, so an apply waiting for the lock exclusively behind an
    /// unbroken stream of parallel CNI requests, each holding it shared, could wait until
    /// its timeout. A turnstile beside the lock gives the exclusive waiter its turn: it
    /// holds the turnstile while it waits and works, and a shared holder passes the
    /// turnstile (takes it shared and drops it) before taking the lock, so none starts while an
    /// exclusive one waits, and those already in finish.
    public func withLock<T>(shared: Bool = false, _ body: () throws -> T) throws -> T {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { mkdir(directory, 0o755) }
        let turnstile = path + ".turnstile"
        let lock = FileLock(path: path, wait: wait, shared: shared)
        do {
            if shared {
                try FileLock(path: turnstile, wait: wait, shared: true).withLock {}
                return try lock.withLock(body)
            }
            return try FileLock(path: turnstile, wait: wait).withLock { try lock.withLock(body) }
        } catch FileLock.Failure.file(let code) {
            throw DataplaneError.lockFile(path: path, errno: code)
        } catch FileLock.Failure.timeout {
            throw DataplaneError.lockTimeout(path: path, waited: wait)
        }
    }
}
