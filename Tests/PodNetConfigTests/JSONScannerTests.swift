import Testing
@testable import PodNetConfig
import PodNetTestSupport

/// What the readers call on a scanner, so that one walk drives the scanner and its
/// reference alike.
protocol WalkedScanner {
    associatedtype Kind: DescribedKind
    associatedtype Failure: ScannerFailure
    init(_ bytes: UnsafeBufferPointer<UInt8>)
    var offset: Int { get }
    mutating func peekKind() throws(Failure) -> Kind
    mutating func beginObject() throws(Failure)
    mutating func nextKeyWithPosition() throws(Failure) -> (key: String, line: Int, column: Int, isSimpleKey: Bool)?
    /// The next key as the readers that compare keys as written get it.
    mutating func nextKeyText() throws(Failure) -> String?
    mutating func beginArray() throws(Failure)
    mutating func nextElement() throws(Failure) -> Bool
    mutating func readString() throws(Failure) -> String
    mutating func readNumberText() throws(Failure) -> String
    mutating func readBool() throws(Failure) -> Bool
    mutating func readNull() throws(Failure)
    mutating func skipValue() throws(Failure)
    mutating func expectEnd() throws(Failure)
    func position(of offset: Int) -> (line: Int, column: Int)
}

protocol DescribedKind { var description: String { get } }
protocol ScannerFailure: Error {
    var offset: Int { get }
    var message: String { get }
}

extension JSONScanner: WalkedScanner {
    mutating func nextKeyText() throws(SyntaxError) -> String? { try nextRawKey()?.text }
}
extension JSONScanner.Kind: DescribedKind {}
extension JSONScanner.SyntaxError: ScannerFailure {}
extension ReferenceJSONScanner: WalkedScanner {
    mutating func nextKeyText() throws(SyntaxError) -> String? { try nextKey() }
}
extension ReferenceJSONScanner.Kind: DescribedKind {}
extension ReferenceJSONScanner.SyntaxError: ScannerFailure {}

/// The scanner's fast paths against the byte-by-byte scanner they replaced, on
/// kubectl-like documents and on their truncations, byte flips, insertions and deletions.
@Suite struct JSONScannerTests {
    /// Everything a walk saw: keys with their positions, values read, and how it ended.
    static func walk<Scanner: WalkedScanner>(_ bytes: [UInt8], as _: Scanner.Type, reading: Bool) -> [String] {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(buffer)
            var events: [String] = []
            func value(_ scanner: inout Scanner, depth: Int) throws(Scanner.Failure) {
                let kind = try scanner.peekKind()
                events.append(kind.description)
                switch kind.description {
                case "an object" where depth < 64 && depth % 2 == 1:
                    try scanner.beginObject()
                    while let key = try scanner.nextKeyText() {
                        events.append("\(key)@\(scanner.position(of: scanner.offset))")
                        try value(&scanner, depth: depth + 1)
                    }
                case "an object" where depth < 64:
                    try scanner.beginObject()
                    while let key = try scanner.nextKeyWithPosition() {
                        events.append("\(key.key)@\(key.line):\(key.column):\(key.isSimpleKey)")
                        try value(&scanner, depth: depth + 1)
                    }
                case "a list" where depth < 64:
                    try scanner.beginArray()
                    while try scanner.nextElement() { try value(&scanner, depth: depth + 1) }
                case "a string": events.append(try scanner.readString())
                case "a number": events.append(try scanner.readNumberText())
                case "a boolean": events.append("\(try scanner.readBool())")
                case "null": try scanner.readNull()
                default: try scanner.skipValue()
                }
            }
            do throws(Scanner.Failure) {
                if reading { try value(&scanner, depth: 0) } else { try scanner.skipValue() }
                try scanner.expectEnd()
                events.append("end \(scanner.position(of: scanner.offset))")
            } catch {
                events.append("error at \(error.offset) \(scanner.position(of: error.offset)): \(error.message)")
            }
            return events
        }
    }

    /// A kubectl-like document: 4-space indented, strings short and long, ASCII and
    /// not, with escapes; numbers of every form.
    static func document(_ generator: inout SplitMix) -> [UInt8] {
        let strings = ["", "a", "nginx", "kubernetes.io/hostname", "registry.k8s.io/pause:3.9@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097",
                       "caf\u{E9}", "\u{1F600} emoji", "tab\\tand\\nnewline", "quote \\\" inside", "\\u00e9\\u0041", "\\ud83d\\ude00",
                       "back\\\\slash", "slash\\/", String(repeating: "x", count: 37), "\u{7F}del"]
        let numbers = ["0", "-0", "12", "3.25", "-1e10", "6.02E+23", "1e-7", "10000000000"]
        let spaces = ["", " ", "\n", "\r\n", "\t", "        ", "\n                                "]
        func pick<T>(_ values: [T]) -> T { values[Int(generator.next() % UInt64(values.count))] }
        func write(_ depth: Int) -> String {
            let indent = "\n" + String(repeating: "    ", count: depth + 1)
            let close = "\n" + String(repeating: "    ", count: depth)
            switch generator.next() % (depth > 4 ? 4 : 7) {
            case 0: return "\"\(pick(strings))\""
            case 1: return pick(numbers)
            case 2: return pick(["true", "false", "null"])
            case 3: return pick(["{}", "[]", "[ ]", "{\(pick(spaces))}"])
            case 4, 5:
                let members = (0..<(1 + generator.next() % 5)).map { _ in
                    indent + "\"\(pick(strings))\"" + pick(["", " "]) + ":" + pick([" ", "", "\n "]) + write(depth + 1)
                }
                return "{" + members.joined(separator: ",") + pick(spaces) + close + "}"
            default:
                let elements = (0..<(1 + generator.next() % 5)).map { _ in indent + write(depth + 1) + pick(spaces) }
                return "[" + elements.joined(separator: ",") + close + "]"
            }
        }
        return Array((pick(spaces) + write(0) + pick(spaces)).utf8)
    }

    static func mutated(_ bytes: [UInt8], _ generator: inout SplitMix) -> [UInt8] {
        let interesting: [UInt8] = Array("\"\\ \n\r\t{}[],:u0-.eE".utf8) + [0x00, 0x01, 0x1F, 0x7F, 0x80, 0xC3, 0xE9, 0xFF]
        var bytes = bytes
        let at = Int(generator.next() % UInt64(bytes.count))
        let byte = generator.next() % 2 == 0 ? interesting[Int(generator.next() % UInt64(interesting.count))]
            : UInt8(truncatingIfNeeded: generator.next())
        switch generator.next() % 4 {
        case 0: bytes.removeSubrange(at...)
        case 1: bytes[at] = byte
        case 2: bytes.insert(byte, at: at)
        default: bytes.remove(at: at)
        }
        return bytes
    }

    /// Nesting past what the one-loop skip follows (64 levels) is skipped, or refused
    /// past 512, as the reference does; so is any break in it.
    @Test func deepNestingIsSkippedAsTheReferenceDoes() {
        var generator = SplitMix(seed: 0xDEE9)
        for depth in [63, 64, 65, 100, 511, 512, 513] {
            for opening in ["[", "{\"k\":"] {
                let closing = opening == "[" ? "]" : "}"
                let original = Array((String(repeating: opening + " ", count: depth) + "1"
                                      + String(repeating: "\n" + closing, count: depth)).utf8)
                for input in [original] + (0..<20).map({ _ in Self.mutated(original, &generator) }) {
                    let fast = Self.walk(input, as: JSONScanner.self, reading: false)
                    let reference = Self.walk(input, as: ReferenceJSONScanner.self, reading: false)
                    #expect(fast == reference, "depth \(depth) \(opening): \(String(decoding: input, as: UTF8.self).prefix(80))")
                }
            }
        }
    }

    @Test func fastPathsAgreeWithTheReference() {
        var generator = SplitMix(seed: 0x5CA7_7E55)
        var failures = 0
        var rejected = 0
        for round in 0..<3_000 {
            let original = Self.document(&generator)
            let inputs = [original] + (0..<4).map { _ in Self.mutated(original, &generator) }
            for input in inputs {
                for reading in [false, true] {
                    let fast = Self.walk(input, as: JSONScanner.self, reading: reading)
                    let reference = Self.walk(input, as: ReferenceJSONScanner.self, reading: reading)
                    if fast.last?.hasPrefix("error") == true { rejected += 1 }
                    if fast != reference, failures < 5 {
                        failures += 1
                        Issue.record("round \(round), reading \(reading): \(String(decoding: input, as: UTF8.self).debugDescription)\nfast: \(fast.suffix(3))\nreference: \(reference.suffix(3))")
                    }
                }
            }
        }
        // The mutations must reach the error paths, not only the happy ones.
        #expect(rejected > 5_000)
    }
}
