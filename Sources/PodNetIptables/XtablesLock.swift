#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The lock the iptables binaries take around every change: flock(LOCK_EX) on
/// /run/xtables.lock (or $XTABLES_LOCKFILE), shared by IPv4 and IPv6. libiptc does no
/// locking of its own, so podnet holds it for the whole init..commit, as iptables does.
public struct XtablesLock: Sendable, Hashable {
    public var path: String
    /// How long to wait for another holder before giving up.
    public var wait: Duration

    public static let defaultPath = "/run/xtables.lock"

    public init(path: String, wait: Duration) {
        self.path = path
        self.wait = wait
    }

    /// $XTABLES_LOCKFILE when set (as iptables honours it), else /run/xtables.lock.
    public static func fromEnvironment(wait: Duration = .seconds(5)) -> XtablesLock {
        XtablesLock(path: path(lockfileVariable: getenv("XTABLES_LOCKFILE").map { String(cString: $0) }), wait: wait)
    }

    /// The lock path for a value of XTABLES_LOCKFILE (unset or empty: the default).
    static func path(lockfileVariable value: String?) -> String {
        guard let value, !value.isEmpty else { return defaultPath }
        return value
    }

    /// Runs `body` holding the lock; the descriptor is closed (releasing it) on return.
    func withLock<T>(_ body: () throws -> T) throws -> T {
        // O_CREAT with 0600, as iptables opens it.
        let descriptor = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw IptablesError.lockFile(path: path, errno: errno) }
        defer { close(descriptor) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: wait)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else { throw IptablesError.lockFile(path: path, errno: code) }
            guard clock.now < deadline else { throw IptablesError.lockTimeout(path: path, waited: wait) }
            // Poll: flock has no timed form, and a signal-based timeout would touch
            // process-wide state that other threads of podnet share.
            usleep(10_000)
        }
        return try body()
    }
}
