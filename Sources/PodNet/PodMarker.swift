/// The interface alias podnet writes on a pod's host end: which pod it serves and
/// the digest of the attachment it was made from, so ownership and staleness are
/// read back from the kernel without state files.
public struct PodMarker: Sendable, Hashable {
    public var podName: String
    public var specDigest: String

    static let prefix = "podnet: pod "

    public init(podName: String, specDigest: String) {
        self.podName = podName
        self.specDigest = specDigest
    }

    public init(_ pod: PodAttachment) {
        self.init(podName: pod.name, specDigest: pod.specDigest)
    }

    /// "podnet: pod DIGEST NAME" (the digest has no spaces; the name is the rest).
    public var alias: String { PodMarker.prefix + specDigest + " " + podName }

    /// Parses an alias; nil when it is not a pod marker.
    public init?(alias: String?) {
        guard let alias, alias.hasPrefix(PodMarker.prefix) else { return nil }
        let rest = alias.dropFirst(PodMarker.prefix.count)
        guard let space = rest.firstIndex(of: " ") else { return nil }
        let digest = String(rest[..<space]), name = String(rest[rest.index(after: space)...])
        guard !digest.isEmpty, !name.isEmpty else { return nil }
        self.init(podName: name, specDigest: digest)
    }

    /// Whether a link carries any of podnet's markers (its bridge or a pod's host end).
    public static func isPodnets(_ alias: String?) -> Bool {
        alias == BridgeState.ownershipAlias || PodMarker(alias: alias) != nil
    }
}
