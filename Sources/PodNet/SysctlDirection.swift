/// Whether a sysctl change opens a path for packets that podnet's tables guard, or
/// closes one. apply orders on it: a path opens only once its guard is committed and
/// closes before its guard is removed, so there is no moment with the path open and
/// the guard missing.
public enum SysctlDirection: Sendable, Hashable {
    /// Goes after the table commits (and before pods attach).
    case opens
    /// Goes before the table commits.
    case closes
}

extension SysctlKey {
    /// The value that opens the path this setting controls:
    /// - forwarding lets pods' packets leave the node, un-NATed until the masquerade
    ///   rules are in, and conntrack keeps a flow that started un-NATed that way;
    /// - `route_localnet` on the bridge lets packets to 127.0.0.0/8 in from pods
    ///   (CVE-2020-8558) unless the guard rule in PODNET-INPUT drops them;
    /// - with bridge-nf-call off, bridged packets bypass the tables altogether.
    public var openValue: String {
        switch self {
        case .ipv4Forwarding, .ipv6Forwarding, .routeLocalnet: return "1"
        case .bridgeCallsIptables, .bridgeCallsIp6tables: return "0"
        }
    }

    /// The value that closes that path.
    public var closedValue: String { openValue == "1" ? "0" : "1" }
}

extension SysctlOperation {
    public var direction: SysctlDirection { to == key.openValue ? .opens : .closes }
}
