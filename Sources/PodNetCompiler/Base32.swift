/// RFC 4648 base32 with the standard alphabet and `=` padding: what Go's
/// base32.StdEncoding gives, so podnet's hashed chain names read like kubelet's
/// KUBE-HP-<16 chars>.
enum Base32 {
    static func encode(_ bytes: [UInt8]) -> String {
        let groups = (bytes.count + 4) / 5
        return String(unsafeUninitializedCapacity: groups * 8) { output in
            for group in 0..<groups {
                let groupStart = group * 5
                let count = min(5, bytes.count - groupStart)
                var value: UInt64 = 0
                for index in 0..<5 {
                    value = value << 8 | UInt64(index < count ? bytes[groupStart + index] : 0)
                }
                // Each input byte contributes 8 bits; a partial group yields ceil(8n/5) symbols.
                let symbols = (count * 8 + 4) / 5
                let groupOutput = output.baseAddress! + group * 8
                writeGroup(value, to: groupOutput)
                for index in symbols..<8 { groupOutput[index] = UInt8(ascii: "=") }
            }
            return groups * 8
        }
    }

    /// The eight symbols of a 5-byte group (the low 40 bits of `value`, its first byte
    /// highest), at `output`. Hashed chain names take their 16 symbols straight from
    /// the digest this way, with no byte array or string in between.
    @inline(__always)
    static func writeGroup(_ value: UInt64, to output: UnsafeMutablePointer<UInt8>) {
        let symbols = alphabet.utf8Start
        for index in 0..<8 {
            output[index] = symbols[Int(value >> UInt64(35 - 5 * index) & 0x1F)]
        }
    }

    /// A StaticString, not an array: read in place, without a lazy global's check per symbol.
    private static var alphabet: StaticString { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" }
}
