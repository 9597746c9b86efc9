/// RFC 4648 base32 with the standard alphabet and `=` padding: what Go's
/// base32.StdEncoding gives, so podnet's hashed chain names read like kubelet's
/// KUBE-HP-<16 chars>.
enum Base32 {
    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 4) / 5 * 8)
        var groupStart = 0
        while groupStart < bytes.count {
            let count = min(5, bytes.count - groupStart)
            var value: UInt64 = 0
            for index in 0..<5 {
                value = value << 8 | UInt64(index < count ? bytes[groupStart + index] : 0)
            }
            // Each input byte contributes 8 bits; a partial group yields ceil(8n/5) symbols.
            let symbols = (count * 8 + 4) / 5
            for index in 0..<8 {
                output.append(index < symbols ? alphabet[Int(value >> UInt64(35 - 5 * index) & 0x1F)] : UInt8(ascii: "="))
            }
            groupStart += 5
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
}
