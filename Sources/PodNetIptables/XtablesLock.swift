#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNetSystem

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

    /// Runs `body` holding the lock (created 0600 when missing, as iptables does).
    func withLock<T>(_ body: () throws -> T) throws -> T {
        do {
            return try FileLock(path: path, wait: wait).withLock(body)
        } catch FileLock.Failure.file(let code) {
            throw IptablesError.lockFile(path: path, errno: code)
        } catch FileLock.Failure.timeout {
            throw IptablesError.lockTimeout(path: path, waited: wait)
        }
    }
}
