#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNet
import PodNetSystem

/// Failures of the netlink socket layer: the system calls around the socket and
/// the protocol spoken on it.
public enum NetlinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A socket system call failed (open, bind, setsockopt, send, recv).
    case system(call: String, errno: Int32)
    /// The kernel answered request `sequence` (message type `type`) with an error.
    case kernel(type: UInt16, sequence: UInt32, reason: KernelReason)
    /// The receive buffer overflowed (ENOBUFS): replies were dropped, so what the
    /// kernel did is unknown until it is read again.
    case repliesLost
    /// A dump kept being interrupted by concurrent changes (NLM_F_DUMP_INTR) or overruns.
    case dumpInconsistent(attempts: Int)
    /// Bytes from the kernel that are not well-formed netlink.
    case malformed(String)
    case namespace(NamespaceError)

    public var description: String {
        switch self {
        case .system(let call, let code):
            return "netlink \(call) failed: \(String(cString: strerror(code)))"
        case .kernel(let type, let sequence, let reason):
            return "kernel refused netlink message type \(type) (seq \(sequence)): \(reason)"
        case .repliesLost:
            return "netlink receive buffer overflowed (ENOBUFS): replies were lost, the state must be re-read"
        case .dumpInconsistent(let attempts):
            return "netlink dump still inconsistent after \(attempts) attempts"
        case .malformed(let what):
            return "malformed netlink reply: \(what)"
        case .namespace(let error):
            return error.description
        }
    }

    /// The kernel's reason when this is a refusal of a request.
    public var kernelReason: KernelReason? {
        if case .kernel(_, _, let reason) = self { return reason }
        return nil
    }
}
