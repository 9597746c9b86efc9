/// Cuts a stream of JSON documents written one after another into the documents, as
/// bytes arrive: what `kubectl get pods -A --watch --output-watch-events -o json` prints
/// is one indented object per event with nothing between them but whitespace, and a
/// pipe hands them over in chunks that start and end anywhere. Only the framing is
/// found here (string, escape and nesting state carried from chunk to chunk, so each
/// byte is looked at once); each document is then read and checked whole.
public struct JSONStreamFraming: Sendable {
    /// Bytes of the document being framed (whitespace between documents is dropped).
    private var pending: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// A top-level value that is no object or array (`kubectl` prints none): kept whole
    /// up to the next whitespace, so that reading it reports it.
    private var inScalar = false

    public init() {}

    /// Whether the stream ended inside a document.
    public var hasUnfinishedDocument: Bool { !pending.isEmpty }

    /// Takes the next bytes of the stream; returns the documents they complete.
    public mutating func append(_ chunk: UnsafeRawBufferPointer) -> [[UInt8]] {
        var documents: [[UInt8]] = []
        var start = 0
        func finish(at end: Int) {
            pending.append(contentsOf: chunk[start..<end])
            documents.append(pending)
            pending = []
            start = end
        }
        var index = 0
        while index < chunk.count {
            let byte = chunk[index]
            if pending.isEmpty && start == index && depth == 0 && !inScalar {
                // Between documents.
                if Self.isWhitespace(byte) {
                    index += 1
                    start = index
                    continue
                }
                if byte != UInt8(ascii: "{") && byte != UInt8(ascii: "[") { inScalar = true }
            }
            if inScalar {
                if Self.isWhitespace(byte) {
                    inScalar = false
                    finish(at: index)
                    continue
                }
            } else if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        finish(at: index)
                        continue
                    }
                default: break
                }
            }
            index += 1
        }
        pending.append(contentsOf: chunk[start..<chunk.count])
        return documents
    }

    /// The bytes of a document the stream ended in (to be read, and reported, as it is).
    public mutating func finishStream() -> [UInt8]? {
        defer { pending = []; depth = 0; inString = false; escaped = false; inScalar = false }
        return pending.isEmpty ? nil : pending
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
    }
}
