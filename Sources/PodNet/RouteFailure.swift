/// A route write the kernel did not carry out, and why.
public struct RouteFailure: Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        case kernel(KernelReason)
        /// The acknowledgement was lost (ENOBUFS) and re-reading the table did not
        /// show the change made.
        case notConfirmed
        /// The nexthop object the route was to use was refused (`RefusedNexthop`).
        case nexthopRefused(id: UInt32)

        public var description: String {
            switch self {
            case .kernel(let reason): return reason.description
            case .notConfirmed: return "acknowledgement lost and the re-read table does not show the change"
            case .nexthopRefused(let id): return "its nexthop \(id) was refused"
            }
        }
    }

    public var route: RouteState
    public var reason: Reason

    public init(route: RouteState, reason: Reason) {
        self.route = route
        self.reason = reason
    }

    public var description: String { "\(IpCommandText.route("add", route)): \(reason)" }
}
