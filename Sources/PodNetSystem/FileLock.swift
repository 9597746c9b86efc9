#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An flock on a file, waited for at most a bounded time: the xtables lock iptables
/// uses and podnet's own per-namespace lock both work this way. Exclusive unless
/// `shared`: holders of a shared lock run beside each other, and exclude an
/// exclusive holder (a reader-writer lock across processes).
public struct FileLock: Sendable, Hashable {
    public var path: String
    public var wait: Duration
    public var shared: Bool
    /// Whether a missing file is created; without, a missing file is `.file(errno: ENOENT)`.
    public var create: Bool

    public enum Failure: Error, Equatable {
        /// The lock file could not be opened or locked.
        case file(errno: Int32)
        /// Another holder kept it for longer than `wait`.
        case timeout
    }

    public init(path: String, wait: Duration, shared: Bool = false, create: Bool = true) {
        self.path = path
        self.wait = wait
        self.shared = shared
        self.create = create
    }

    /// Runs `body` holding the lock; closing the descriptor on return releases it.
    /// The file is created with mode 0600 when missing (unless `create` is off), as
    /// iptables creates its lock.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        let descriptor = try acquire()
        defer { close(descriptor) }
        return try body()
    }

    /// The descriptor holding the lock; the caller closes it to release the lock.
    public func acquire() throws(Failure) -> Int32 {
        let descriptor = open(path, O_RDONLY | (create ? O_CREAT : 0) | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .file(errno: errno) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: wait)
        var pause: useconds_t = 500
        while flock(descriptor, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR, clock.now < deadline else {
                close(descriptor)
                throw code == EWOULDBLOCK || code == EINTR ? .timeout : .file(errno: code)
            }
            // Poll: flock has no timed form, and a signal-based timeout would touch
            // process-wide state that other threads share. Short pauses first, since the
            // allocation store's lock is held for a millisecond or so by each of many
            // parallel ADDs; then at most 10 ms.
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
        return descriptor
    }
}
