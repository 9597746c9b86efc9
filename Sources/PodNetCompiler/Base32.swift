/// RFC 4648 base32 with the standard alphabet and `=` padding: what Go's
/// base32.StdEncoding gives, so podnet's hashed chain names read like kubelet's
/// KUBE-HP-<16 chars>.
enum Base32 {
    static func encode(_ bytes: [UInt8]) -> String {
        var output = ""
        for groupStart in stride(from: 0, to: bytes.count, by: 5) {
            let group = Array(bytes[groupStart..<min(groupStart + 5, bytes.count)])
            let value = (0..<5).reduce(UInt64(0)) { $0 << 8 | UInt64($1 < group.count ? group[$1] : 0) }
            // Each input byte contributes 8 bits; a partial group yields ceil(8n/5) symbols.
            let symbols = (group.count * 8 + 4) / 5
            for index in 0..<8 {
                if index < symbols {
                    let symbol = Int(value >> UInt64(35 - 5 * index) & 0x1F)
                    output.append(alphabet[symbol])
                } else {
                    output.append("=")
                }
            }
        }
        return output
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
}
