/// FNV-1a (64 bits): a short, stable digest of a text for names and marks that the
/// kernel stores and podnet reads back (a pod's spec digest, a link's temporary name).
/// Not for anything that must resist a chosen input.
public enum FNV1a {
    public static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// The first `digits` of the hash's 16 lower-case hex digits.
    public static func hexDigest(_ text: String, digits: Int = 16) -> String {
        let hex = String(hash(text), radix: 16)
        return String((String(repeating: "0", count: 16 - hex.count) + hex).prefix(digits))
    }
}
