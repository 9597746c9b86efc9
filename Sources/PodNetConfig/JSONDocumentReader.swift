/// Reads a JSON config into the `DocumentTree` the YAML reader would build from the same
/// text, without libyaml: a config with 50,000 peers is JSON, and composing it through
/// libyaml's events and YAML's tag resolution took a third of a whole apply.
///
/// It reads only the JSON whose YAML reading it reproduces exactly, and returns nil
/// for anything else (comments, non-ASCII text, escapes, lone CRs, tabs around the
/// document, keys on another line than their colon, numbers that are not plain
/// integers, duplicate keys, syntax errors), so that the YAML reader reads those and
/// reports their problems. Within that subset a string's text is its bytes between the
/// quotes, so the tree's texts are ranges of the document itself, found in one pass
/// over its bytes. `JSONDocumentReaderTests` checks the reading agrees with Yams',
/// the oracle `YAMLDocumentReader` is held to as well.
enum JSONDocumentReader {
    /// Deeper than any config; beyond it the YAML reader decides.
    static let maxDepth = 64
    /// More keys than any mapping of the schema has; beyond it the YAML reader decides (and the
    /// duplicate-key scan stays short).
    static let maxKeys = 64
    /// The longest key YAML reads as an implicit key, quotes included.
    static let maxKeyLength = 1024

    static func read(_ text: String, file: String = "") -> DocumentTree? {
        let source = Array(text.utf8)
        guard source.count < Int(Int32.max) else { return nil }
        // A config's JSON holds about one node per 9 to 12 bytes: room for one per 8,
        // so that the node array is never regrown (and copied, and faulted in twice).
        var builder = DocumentTreeBuilder(source: source, capacity: source.count / 8)
        let read = source.withUnsafeBufferPointer { bytes -> Bool in
            var reader = SubsetReader(bytes: bytes)
            do throws(OutsideSubset) {
                reader.skipWhitespace()
                guard reader.offset < bytes.count, bytes[reader.offset] == UInt8(ascii: "{") else { return false }
                let start = reader.offset
                try reader.value(into: &builder, depth: 0)
                let end = reader.offset
                reader.skipWhitespace()
                guard reader.offset == bytes.count else { return false }
                // YAML takes a tab outside a flow collection for indentation, and refuses it.
                let tab = UInt8(ascii: "\t")
                return !bytes[..<start].contains(tab) && !bytes[end...].contains(tab)
            } catch {
                return false
            }
        }
        return read ? builder.build(file: file) : nil
    }

    /// Thrown for JSON outside the subset (or no JSON at all), to stop and let the YAML
    /// reader read the text.
    private struct OutsideSubset: Error {}

    /// One pass over the bytes, keeping the line and its start for each node's position
    /// (JSON breaks lines only between tokens).
    private struct SubsetReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset = 0
        var line = 1
        var lineStart = 0

        /// Spaces, tabs and line breaks; a CR only before an LF (YAML breaks lines at a
        /// lone CR, JSON does not), which ends the skip there so that the value after fails.
        @inline(__always)
        mutating func skipWhitespace() {
            // Most tokens follow another directly or after one space: that is decided here.
            guard offset < bytes.count, bytes[offset] <= UInt8(ascii: " ") else { return }
            skipWhitespaceRun()
        }

        @inline(never)
        private mutating func skipWhitespaceRun() {
            while offset < bytes.count {
                switch bytes[offset] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"):
                    offset += 1
                case UInt8(ascii: "\n"):
                    offset += 1
                    line += 1
                    lineStart = offset
                case UInt8(ascii: "\r"):
                    guard offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "\n") else { return }
                    offset += 1
                default:
                    return
                }
            }
        }

        private mutating func consume(_ byte: UInt8) -> Bool {
            guard offset < bytes.count, bytes[offset] == byte else { return false }
            offset += 1
            return true
        }

        mutating func value(into builder: inout DocumentTreeBuilder, depth: Int) throws(OutsideSubset) {
            skipWhitespace()
            guard offset < bytes.count else { throw OutsideSubset() }
            let (line, column) = (self.line, offset - lineStart + 1)
            switch bytes[offset] {
            case UInt8(ascii: "{"):
                guard depth < maxDepth else { throw OutsideSubset() }
                offset += 1
                let mapping = builder.add(.mapping, textStart: 0, count: 0, line: line, column: column)
                skipWhitespace()
                if !consume(UInt8(ascii: "}")) {
                    var keyCount = 0
                    repeat {
                        skipWhitespace()
                        let (keyLine, keyColumn) = (self.line, offset - lineStart + 1)
                        let (start, count) = try string()
                        skipWhitespace()
                        // YAML refuses a key on another line than its colon (or longer than
                        // 1,024 characters), and reports duplicate keys where JSON keeps the
                        // last: the YAML reader says so. (A config's mappings have a dozen
                        // keys at most: a scan of the keys read so far is cheaper than a set.)
                        guard self.line == keyLine, count + 2 <= maxKeyLength, keyCount < maxKeys,
                              !builder.mapping(mapping, hasKeyAt: start, count: count),
                              consume(UInt8(ascii: ":")) else { throw OutsideSubset() }
                        keyCount += 1
                        builder.add(.scalar(.string), textStart: start, count: count, line: keyLine, column: keyColumn)
                        try value(into: &builder, depth: depth + 1)
                        skipWhitespace()
                    } while consume(UInt8(ascii: ","))
                    guard consume(UInt8(ascii: "}")) else { throw OutsideSubset() }
                }
                builder.close()
            case UInt8(ascii: "["):
                guard depth < maxDepth else { throw OutsideSubset() }
                offset += 1
                builder.add(.sequence, textStart: 0, count: 0, line: line, column: column)
                skipWhitespace()
                if !consume(UInt8(ascii: "]")) {
                    repeat {
                        try value(into: &builder, depth: depth + 1)
                        skipWhitespace()
                    } while consume(UInt8(ascii: ","))
                    guard consume(UInt8(ascii: "]")) else { throw OutsideSubset() }
                }
                builder.close()
            case UInt8(ascii: "\""):
                let (start, count) = try string()
                builder.add(.scalar(.string), textStart: start, count: count, line: line, column: column)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = offset
                try integer()
                builder.add(.scalar(.int), textStart: start, count: offset - start, line: line, column: column)
            case UInt8(ascii: "t"):
                try literal("true")
                builder.add(.scalar(.bool(true)), textStart: offset - 4, count: 4, line: line, column: column)
            case UInt8(ascii: "f"):
                try literal("false")
                builder.add(.scalar(.bool(false)), textStart: offset - 5, count: 5, line: line, column: column)
            case UInt8(ascii: "n"):
                try literal("null")
                builder.add(.scalar(.null), textStart: offset - 4, count: 4, line: line, column: column)
            default:
                throw OutsideSubset()
            }
        }

        /// A string's body (from after its opening quote, without the closing one):
        /// ASCII without escapes (YAML's differ from JSON's in places) or control bytes
        /// (which JSON forbids raw).
        private mutating func string() throws(OutsideSubset) -> (start: Int, count: Int) {
            guard consume(UInt8(ascii: "\"")) else { throw OutsideSubset() }
            let start = offset
            guard let close = JSONWords.plainStringEnd(bytes.baseAddress!, bytes.count, from: start) else {
                throw OutsideSubset()
            }
            offset = close + 1
            return (start, close - start)
        }

        /// JSON's integers, -?(0|[1-9][0-9]*): YAML 1.1 resolves "1.5" and "1e3"
        /// differently from JSON, so a fraction or exponent is left to the YAML reader.
        private mutating func integer() throws(OutsideSubset) {
            _ = consume(UInt8(ascii: "-"))
            let digitsStart = offset
            while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
            let digits = offset - digitsStart
            guard digits > 0, digits == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { throw OutsideSubset() }
            if offset < bytes.count,
               bytes[offset] == UInt8(ascii: ".") || bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
                throw OutsideSubset()
            }
        }

        private mutating func literal(_ word: StaticString) throws(OutsideSubset) {
            let count = word.utf8CodeUnitCount
            guard offset + count <= bytes.count,
                  (0..<count).allSatisfy({ bytes[offset + $0] == word.utf8Start[$0] }) else { throw OutsideSubset() }
            offset += count
        }
    }
}
