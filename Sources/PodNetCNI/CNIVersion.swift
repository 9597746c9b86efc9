/// The CNI spec versions podnet speaks. A request names one in its `cniVersion`, and
/// the result is written in that version's shape.
public enum CNIVersion: String, Sendable, CaseIterable, Comparable {
    case v0_3_0 = "0.3.0"
    case v0_3_1 = "0.3.1"
    case v0_4_0 = "0.4.0"
    case v1_0_0 = "1.0.0"
    case v1_1_0 = "1.1.0"

    public static let newest = CNIVersion.v1_1_0

    /// Before 1.0.0 every entry of `ips` carried its family as `version` ("4" or "6").
    public var ipsCarryFamily: Bool { self < .v1_0_0 }

    /// CHECK came with 0.4.0; STATUS and GC with 1.1.0.
    public func supports(_ command: CNICommand) -> Bool {
        switch command {
        case .add, .del, .version: return true
        case .check: return self >= .v0_4_0
        case .status, .gc: return self >= .v1_1_0
        }
    }

    private var order: Int { CNIVersion.allCases.firstIndex(of: self)! }

    public static func < (lhs: CNIVersion, rhs: CNIVersion) -> Bool { lhs.order < rhs.order }
}

/// The verb in `CNI_COMMAND`.
public enum CNICommand: String, Sendable, CaseIterable {
    case add = "ADD"
    case del = "DEL"
    case check = "CHECK"
    case status = "STATUS"
    case gc = "GC"
    case version = "VERSION"
}
