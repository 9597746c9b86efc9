/// The name a link podnet creates carries until it is complete.
///
/// The kernel ignores an interface alias (podnet's ownership mark) in the message that
/// creates a link, so a link made under its final name would exist unmarked until a
/// second message: a podnet killed in between leaves a link it no longer recognises,
/// every later apply fails on it with EEXIST and teardown leaves it. So podnet creates
/// its bridge and its pods' host ends under a temporary name of this form, sets them up,
/// and then renames and marks them in one message. A link found under such a name
/// without a mark is one a run did not finish: the next plan deletes it (a host end
/// takes its peer in the pod with it).
public enum UnfinishedLink {
    /// "podnet-" and 8 hex digits: 15 bytes, the most an interface name can have.
    public static let prefix = "podnet-"
    static let digestDigits = 8

    /// The temporary name of the link that will be named `finalName`.
    public static func temporaryName(for finalName: String) -> String {
        prefix + FNV1a.hexDigest(finalName, digits: digestDigits)
    }

    /// Whether `name` is one of podnet's temporary names.
    public static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix(prefix) else { return false }
        let digest = name.utf8.dropFirst(prefix.utf8.count)
        let hexDigits = Set("0123456789abcdef".utf8)
        return digest.count == digestDigits && digest.allSatisfy(hexDigits.contains)
    }

    /// Whether a link is one podnet left half-made: a bridge or veth under a temporary
    /// name and without any alias (podnet writes its mark only with the final name, so
    /// a link carrying an alias is complete, or not podnet's).
    public static func isUnfinished(name: String, kind: String?, alias: String?) -> Bool {
        isTemporaryName(name) && alias == nil && (kind == "bridge" || kind == "veth")
    }
}
