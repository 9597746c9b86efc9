/// Reads a JSON config into the `DocumentTree` the YAML reader would build from the same
/// text, without libyaml: a config with 5,000 peers is JSON, and composing it through
/// libyaml's events and YAML's tag resolution took a third of a whole apply.
///
/// It reads only the JSON whose YAML reading it reproduces exactly, and returns nil
/// for anything else (comments, non-ASCII text, escapes, lone CRs, tabs around the
/// document, keys on another line than their colon, numbers that are not plain
/// integers, duplicate keys, syntax errors), so that the YAML reader reads those and
/// reports their problems. `JSONDocumentReaderTests` checks the reading agrees with Yams',
/// the oracle `YAMLDocumentReader` is held to as well.
enum JSONDocumentReader {
    /// Deeper than any config; beyond it the YAML reader decides.
    static let maxDepth = 64
    /// More keys than any mapping of the schema has; beyond it the YAML reader decides (and the
    /// duplicate-key scan stays short).
    static let maxKeys = 64

    static func read(_ text: String, file: String = "") -> DocumentTree? {
        var text = text
        return text.withUTF8 { bytes in
            guard isInSubset(bytes) else { return nil }
            var scanner = JSONScanner(bytes)
            // A config's JSON holds about one node per 9 to 12 bytes: room for one per 8,
            // so that the node array is never regrown (and copied, and faulted in twice).
            var builder = DocumentTreeBuilder(capacity: bytes.count / 8)
            do {
                guard try scanner.peekKind() == .object else { return nil }
                let start = scanner.offset
                try readValue(&scanner, into: &builder, depth: 0)
                let end = scanner.offset
                try scanner.expectEnd()
                // YAML takes a tab outside a flow collection for indentation, and refuses it.
                let tab = UInt8(ascii: "\t")
                guard !bytes[..<start].contains(tab), !bytes[end...].contains(tab) else { return nil }
                return builder.build(file: file)
            } catch {
                return nil
            }
        }
    }

    /// ASCII only (so that byte columns are character columns), no escapes (YAML's
    /// differ from JSON's in places) and no CR except before LF (YAML breaks lines at
    /// a lone CR, JSON does not).
    private static func isInSubset(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var previous: UInt8 = 0
        for byte in bytes {
            if byte >= 0x80 || byte == UInt8(ascii: "\\") { return false }
            if previous == UInt8(ascii: "\r"), byte != UInt8(ascii: "\n") { return false }
            previous = byte
        }
        return previous != UInt8(ascii: "\r")
    }

    /// Thrown for JSON outside the subset, to stop and let the YAML reader read the text.
    private struct OutsideSubset: Error {}

    private static func readValue(_ scanner: inout JSONScanner, into builder: inout DocumentTreeBuilder,
                                  depth: Int) throws {
        let kind = try scanner.peekKind()
        let (line, column) = scanner.position(of: scanner.offset)
        if kind == .object || kind == .array, depth >= maxDepth { throw OutsideSubset() }
        switch kind {
        case .object:
            try scanner.beginObject()
            let mapping = builder.add(.mapping, line: line, column: column)
            var keyCount = 0
            while let (key, keyLine, keyColumn, isSimpleKey) = try scanner.nextKeyWithPosition() {
                // YAML refuses a key on another line than its colon, and reports
                // duplicate keys where JSON keeps the last: the YAML reader says so. (A config's
                // mappings have a dozen keys at most: a scan of the keys read so far is
                // cheaper than a set, or an array of them per mapping.)
                guard isSimpleKey, keyCount < maxKeys, !builder.mapping(mapping, hasKey: key) else {
                    throw OutsideSubset()
                }
                keyCount += 1
                builder.add(.scalar(.string), text: key, line: keyLine, column: keyColumn)
                try readValue(&scanner, into: &builder, depth: depth + 1)
            }
                builder.close()
        case .array:
            try scanner.beginArray()
            builder.add(.sequence, line: line, column: column)
            while try scanner.nextElement() { try readValue(&scanner, into: &builder, depth: depth + 1) }
            builder.close()
        case .string:
            builder.add(.scalar(.string), text: try scanner.readString(), line: line, column: column)
        case .number:
            let text = try scanner.readNumberText()
            // YAML 1.1 resolves "1.5" and "1e3" differently from JSON; only integers are read here.
            guard text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { throw OutsideSubset() }
            builder.add(.scalar(.int), text: text, line: line, column: column)
        case .bool:
            let value = try scanner.readBool()
            builder.add(.scalar(.bool(value)), text: value ? "true" : "false", line: line, column: column)
        case .null:
            try scanner.readNull()
            builder.add(.scalar(.null), text: "null", line: line, column: column)
        }
    }
}
