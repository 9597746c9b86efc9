#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNamespace

/// A network namespace to act in: a name under /run/netns or a path
/// (/run/netns/NAME, /proc/PID/ns/net, ...).
public struct NetworkNamespace: Sendable, Hashable, CustomStringConvertible {
    public let path: String

    public init(path: String) { self.path = path }

    /// A bare name means /run/netns/NAME (as `ip netns` names them); anything with a slash is a path.
    public init(nameOrPath: String) {
        path = nameOrPath.contains("/") ? nameOrPath : "/run/netns/" + nameOrPath
    }

    public var description: String { path }
}

public enum NamespaceError: Error, CustomStringConvertible, Equatable {
    case open(path: String, errno: Int32)
    case enter(path: String, errno: Int32)
    /// The thread could not go back to its own namespace: the process must not
    /// keep running in the wrong one.
    case restore(errno: Int32)

    public var description: String {
        switch self {
        case .open(let path, let code):
            return "cannot open network namespace \(path): \(String(cString: strerror(code)))"
        case .enter(let path, let code):
            return "cannot enter network namespace \(path): \(String(cString: strerror(code)))"
        case .restore(let code):
            return "cannot return to the original network namespace: \(String(cString: strerror(code)))"
        }
    }
}

extension NetworkNamespace {
    /// Runs `body` on the calling thread inside `namespace` (or where it is, for nil)
    /// and returns the thread to its own namespace before returning or throwing.
    ///
    /// setns moves only the calling thread, and sockets keep the namespace they
    /// were created in; `body` is synchronous, so no task can be moved to another
    /// thread while this one is inside the target namespace.
    public static func run<T>(in namespace: NetworkNamespace?, _ body: () throws -> T) throws -> T {
        guard let namespace else { return try body() }
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw NamespaceError.open(path: "/proc/thread-self/ns/net", errno: errno) }
        defer { close(original) }
        let target = open(namespace.path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw NamespaceError.open(path: namespace.path, errno: errno) }
        defer { close(target) }
        guard podnet_enter_network_namespace(target) == 0 else {
            throw NamespaceError.enter(path: namespace.path, errno: errno)
        }
        defer {
            if podnet_enter_network_namespace(original) != 0 {
                // Continuing would run later work of this thread in the wrong namespace.
                fatalError(NamespaceError.restore(errno: errno).description)
            }
        }
        return try body()
    }
}
