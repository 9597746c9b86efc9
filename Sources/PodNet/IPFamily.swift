/// An address family. podnet computes and applies everything once per family.
public enum IPFamily: String, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case ipv4
    case ipv6

    /// Address width in bits.
    public var bitWidth: Int { self == .ipv4 ? 32 : 128 }

    /// The host-route prefix (/32 or /128).
    public var hostPrefixLength: Int { bitWidth }

    public static func < (lhs: IPFamily, rhs: IPFamily) -> Bool {
        lhs == .ipv4 && rhs == .ipv6
    }

    /// By the case, not the raw value: a String raw value makes RawRepresentable's
    /// default hash the name, and every address, network and route key hashes a family.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self == .ipv4)
    }
}
