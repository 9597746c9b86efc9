import PodNet

/// A chain name within the kernel's 28 bytes as four big-endian words: its bytes,
/// zero-padded, and its length in the last byte (so that names differing only by
/// trailing NULs stay apart).
///
/// Compared word by word it sorts as `ChainName`'s `<` (strcmp) does, and it hashes
/// and compares in a few instructions where a String goes byte by byte: a thousand
/// host ports give two thousand names, sharing "PODNET-HP-", to sort and look up at
/// every compile.
struct PackedChainName: Hashable, Comparable {
    private let words: (high: UInt64, second: UInt64, third: UInt64, low: UInt64)

    /// nil for a name longer than `ChainName.maxLength`.
    init?(_ name: ChainName) {
        var text = name.rawValue
        guard let words = text.withUTF8({ bytes -> (UInt64, UInt64, UInt64, UInt64)? in
            guard bytes.count <= ChainName.maxLength else { return nil }
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &words) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(bytes))
                raw[raw.count - 1] = UInt8(bytes.count)
            }
            return words
        }) else { return nil }
        self.words = (UInt64(bigEndian: words.0), UInt64(bigEndian: words.1),
                      UInt64(bigEndian: words.2), UInt64(bigEndian: words.3))
    }

    static func == (lhs: PackedChainName, rhs: PackedChainName) -> Bool {
        lhs.words == rhs.words
    }

    static func < (lhs: PackedChainName, rhs: PackedChainName) -> Bool {
        lhs.words < rhs.words
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.high)
        hasher.combine(words.second)
        hasher.combine(words.third)
        hasher.combine(words.low)
    }
}
