import PodNet
import PodNetIptables
import PodNetNetlink
import PodNetSystem

/// Why an observation or an apply failed, with the object and the kernel's reason.
public enum DataplaneError: Error, CustomStringConvertible {
    case iptables(IptablesError)
    case netlink(NetlinkError, while: String)
    case netlinkOperation(NetlinkOperationError)
    case sysctl(SysctlError)
    case routes([RouteFailure])
    case nexthops([RefusedNexthop])
    case conflicts([Conflict])
    case lockTimeout(path: String, waited: Duration)
    case lockFile(path: String, errno: Int32)
    case namespace(NamespaceError)
    /// An error of a type no case here is for, carried as it was thrown (it reached
    /// the dataplane through an API that throws `any Error`).
    case unexpected(any Error)

    /// `error` as a dataplane error: one already, a backend's in its case, anything
    /// else as `.unexpected` with the error itself, never mistaken for another failure.
    init(_ error: any Error) {
        switch error {
        case let error as DataplaneError: self = error
        case let error as IptablesError: self = .iptables(error)
        case let error as NamespaceError: self = .namespace(error)
        default: self = .unexpected(error)
        }
    }

    public var description: String {
        switch self {
        case .iptables(let error): return error.description
        case .netlink(let error, let action): return "\(action): \(error)"
        case .netlinkOperation(let error): return error.description
        case .sysctl(let error): return error.description
        case .routes(let failures):
            return "the kernel refused \(failures.count) route\(failures.count == 1 ? "" : "s"):\n"
                + failures.map { "  \($0)" }.joined(separator: "\n")
        case .nexthops(let refused):
            return "the kernel refused \(refused.count) nexthop write\(refused.count == 1 ? "" : "s"):\n"
                + refused.map { "  \($0)" }.joined(separator: "\n")
        case .conflicts(let conflicts):
            return "podnet will not overwrite what it does not own:\n" + conflicts.map { "  \($0)" }.joined(separator: "\n")
        case .lockTimeout(let path, let waited):
            return "another podnet run holds \(path); gave up after \(waited)"
        case .lockFile(let path, let code):
            return "cannot open the podnet lock \(path): errno \(code)"
        case .namespace(let error): return error.description
        case .unexpected(let error):
            return "unexpected error (\(type(of: error))): \(error)"
        }
    }
}
