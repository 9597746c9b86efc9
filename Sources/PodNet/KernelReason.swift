#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the kernel refused one request: the errno of its NLMSG_ERROR and, with
/// NETLINK_EXT_ACK, the kernel's own words (NLMSGERR_ATTR_MSG).
public struct KernelReason: Sendable, Hashable, CustomStringConvertible {
    public var errno: Int32
    /// e.g. "Nexthop has invalid gateway"; nil when the kernel gave no text.
    public var message: String?

    public init(errno: Int32, message: String? = nil) {
        self.errno = errno
        self.message = message
    }

    public var description: String {
        let system = String(cString: strerror(errno))
        guard let message, !message.isEmpty else { return system }
        return "\(message) (\(system))"
    }
}
