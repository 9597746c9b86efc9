/// Appending text to UTF-8 byte buffers: plans and renders write thousands of lines
/// into one `[UInt8]`, and a String per piece (or an interpolation, which casts each
/// value dynamically) cost more than the text itself. Public for the compiler's
/// chain-name keys, built the same way.
extension Array where Element == UInt8 {
    /// The string's UTF-8, copied in one piece when the string is contiguous (native
    /// and small strings are).
    @inlinable
    public mutating func appendUTF8(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { append(contentsOf: $0) }
        if copied == nil { append(contentsOf: text.utf8) }
    }

    /// The value in decimal, without a String.
    @inlinable  // specialized in the caller: generic through witness tables it cost several times more
    public mutating func appendDecimal<T: BinaryInteger>(_ value: T) {
        if value < 0 { append(UInt8(ascii: "-")) }
        let magnitude = UInt64(value.magnitude)
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        repeat {
            append(UInt8(ascii: "0") + UInt8(magnitude / divisor % 10))
            divisor /= 10
        } while divisor != 0
    }
}
