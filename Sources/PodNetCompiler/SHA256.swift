/// SHA-256 (FIPS 180-4), written here because podnet's chain and interface names
/// are derived from it and swift-crypto is not a dependency. Names only: no
/// secrecy rests on it.
enum SHA256 {
    /// The eight state words after the last block: the digest, each word big-endian.
    typealias Words = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    /// The 32-byte digest of `message`.
    static func digest(_ message: some Sequence<UInt8>) -> [UInt8] {
        bytes(of: Array(message).withUnsafeBytes { hash($0) })
    }

    static func digest(_ text: String) -> [UInt8] {
        var text = text
        return bytes(of: text.withUTF8 { hash(UnsafeRawBufferPointer($0)) })
    }

    /// The digest of `message` as its eight words. A 1,000-host-port node names a
    /// thousand chains at every compile: the message is read in place, the padded
    /// tail and the schedule live on the stack, and nothing is allocated.
    static func hash(_ message: UnsafeRawBufferPointer) -> Words {
        var state = initialState
        let fullBlocks = message.count / 64
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
            roundConstants.withUnsafeBufferPointer { k in
                for block in 0..<fullBlocks {
                    compress(&state, UnsafeRawBufferPointer(rebasing: message[block * 64 ..< block * 64 + 64]),
                             schedule, k)
                }
                // The rest of the message, 0x80, zeros and the bit length: one block,
                // or two when fewer than 9 bytes are left after the rest.
                withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { tail in
                    tail.initializeMemory(as: UInt8.self, repeating: 0)
                    let rest = UnsafeRawBufferPointer(rebasing: message[(fullBlocks * 64)...])
                    tail.copyMemory(from: rest)
                    tail[rest.count] = 0x80
                    let tailLength = rest.count < 56 ? 64 : 128
                    tail.storeBytes(of: (UInt64(message.count) &* 8).bigEndian, toByteOffset: tailLength - 8,
                                    as: UInt64.self)
                    for start in stride(from: 0, to: tailLength, by: 64) {
                        compress(&state, UnsafeRawBufferPointer(rebasing: tail[start ..< start + 64]), schedule, k)
                    }
                }
            }
        }
        return state
    }

    /// The digest's 32 bytes, word by word, most significant byte first.
    private static func bytes(of words: Words) -> [UInt8] {
        let bigEndian = (words.0.bigEndian, words.1.bigEndian, words.2.bigEndian, words.3.bigEndian,
                         words.4.bigEndian, words.5.bigEndian, words.6.bigEndian, words.7.bigEndian)
        return withUnsafeBytes(of: bigEndian) { Array($0) }
    }

    /// One 64-byte block into `state`; `w` is the 64-word message schedule's storage.
    @inline(__always)
    private static func compress(_ state: inout Words, _ block: UnsafeRawBufferPointer,
                                 _ w: UnsafeMutableBufferPointer<UInt32>, _ k: UnsafeBufferPointer<UInt32>) {
        for t in 0..<16 {
            w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self))
        }
        for t in 16..<64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        // Eight rounds per pass, the variables' roles rotating through the calls rather
        // than their values through eight moves a round.
        var (a, b, c, d, e, f, g, h) = state
        for t in stride(from: 0, to: 64, by: 8) {
            round(a, b, c, &d, e, f, g, &h, k[t] &+ w[t])
            round(h, a, b, &c, d, e, f, &g, k[t + 1] &+ w[t + 1])
            round(g, h, a, &b, c, d, e, &f, k[t + 2] &+ w[t + 2])
            round(f, g, h, &a, b, c, d, &e, k[t + 3] &+ w[t + 3])
            round(e, f, g, &h, a, b, c, &d, k[t + 4] &+ w[t + 4])
            round(d, e, f, &g, h, a, b, &c, k[t + 5] &+ w[t + 5])
            round(c, d, e, &f, g, h, a, &b, k[t + 6] &+ w[t + 6])
            round(b, c, d, &e, f, g, h, &a, k[t + 7] &+ w[t + 7])
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d,
                 state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
    }

    /// One round, in place: `d` becomes the next round's e and `h` its a; the other
    /// six shift one place, which the caller does by naming them in rotated order.
    @inline(__always)
    private static func round(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
                              _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ constantAndWord: UInt32) {
        let sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
        let choice = (e & f) ^ (~e & g)
        let temp1 = h &+ sum1 &+ choice &+ constantAndWord
        let sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
        let majority = (a & b) ^ (a & c) ^ (b & c)
        d = d &+ temp1
        h = temp1 &+ sum0 &+ majority
    }

    private static func rotr(_ value: UInt32, _ count: UInt32) -> UInt32 {
        // Masking shifts: the counts are constants below 32, so no overshift test is needed.
        value &>> count | value &<< (32 &- count)
    }

    private static let initialState: Words = (
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    )

    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
}
