/// A route or nexthop write of a plan, as `ip` would carry it out.
public protocol PlannedKernelWrite: Sendable, Hashable {
    /// The `ip` command that carries the write out.
    var commandText: String { get }
}

/// A planned route or nexthop write that an apply left out because the kernel refused it
/// (a peer's route and nexthop stand alone: see `Plan`), with the kernel's reason. It is
/// still missing from the node, so the next apply plans it again; the routes that were to
/// use a refused new nexthop are refused with it (`RouteFailure.Reason.nexthopRefused`).
public struct Refused<Operation: PlannedKernelWrite>: Sendable, Hashable, CustomStringConvertible {
    public var operation: Operation
    public var reason: RouteFailure.Reason

    public init(operation: Operation, reason: RouteFailure.Reason) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(operation.commandText): \(reason)" }
}

public typealias RefusedRoute = Refused<RouteOperation>
public typealias RefusedNexthop = Refused<NexthopOperation>
