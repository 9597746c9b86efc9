import Foundation
import Testing
@testable import PodNetConfig
import PodNetTestSupport

/// The JSON reader must give exactly the tree Yams composes from the same text
/// (types, values, key order, lines and columns), or step aside (nil) and let Yams
/// read it: these tests compare the two on every fixture written as JSON in random
/// layouts, on edge cases, and on byte-level mutations.
@Suite struct JSONDocumentReaderTests {
    /// A config fixture's tree written back as JSON, with random whitespace between tokens.
    static func json(_ tree: DocumentTree, _ generator: inout SplitMix) -> String {
        let spaces = ["", " ", "  ", "\n", "\n    ", "\t", "\r\n", " \n\t "]
        func space() -> String { spaces.randomElement(using: &generator)! }
        // YAML needs a key on the same line as its colon.
        func inlineSpace() -> String { ["", " ", "\t"].randomElement(using: &generator)! }
        func write(_ index: Int32) -> String {
            let node = tree[index]
            switch node.kind {
            case .mapping:
                let children = Array(tree.children(of: index))
                let body = stride(from: 0, to: children.count, by: 2).map { at -> String in
                    space() + "\"\(tree.text(of: children[at]))\"" + inlineSpace() + ":" + space() + write(children[at + 1]) + space()
                }
                return "{" + body.joined(separator: ",") + space() + "}"
            case .sequence:
                return "[" + tree.children(of: index).map { space() + write($0) + space() }.joined(separator: ",") + space() + "]"
            case .scalar(let type):
                let text = tree.text(of: index)
                switch type {
                case .null: return "null"
                case .bool(let value): return value == true ? "true" : "false"
                case .int where Int64(text) != nil && !text.hasPrefix("+") && !text.hasPrefix("0") || text == "0": return text
                default: return "\"\(text)\""
                }
            case .alias: return "null"
            }
        }
        // Tabs only inside the braces: outside, YAML reads them as indentation and refuses them.
        func outerSpace() -> String { ["", " ", "\n", "\r\n", "\n\n "].randomElement(using: &generator)! }
        return outerSpace() + write(DocumentTree.root) + outerSpace()
    }

    /// Where two trees first differ, for a readable failure.
    static func firstDifference(_ a: DocumentTree?, _ b: DocumentTree?) -> String? {
        guard let a, let b else { return a == nil && b == nil ? nil : "one side is nil (Yams refused it?)" }
        guard a.nodes.count == b.nodes.count else { return "\(a.nodes.count) nodes vs \(b.nodes.count)" }
        for index in a.nodes.indices where !a.sameNode(Int32(index), as: Int32(index), of: b) {
            let (text, otherText) = (a.text(of: Int32(index)).debugDescription, b.text(of: Int32(index)).debugDescription)
            return "node \(index) at \(a.fieldPath(of: Int32(index))): \(a.nodes[index]) \(text) vs \(b.nodes[index]) \(otherText)"
        }
        return nil
    }

    static func fixtureTexts() throws -> [String] {
        var generator = SplitMix(seed: 7)
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.root.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names.count >= 10)
        return try names.flatMap { name -> [String] in
            let yaml = try String(contentsOfFile: Fixtures.path(name), encoding: .utf8)
            let tree = try #require(try YamsOracle.compose(yaml), "\(name)")
            return (0..<4).map { _ in json(tree, &generator) }
        }
    }

    @Test func everyFixtureWrittenAsJSONReadsAsYamsComposesIt() throws {
        for text in try Self.fixtureTexts() {
            let read = try #require(JSONDocumentReader.read(text), "the reader refused plain JSON:\n\(text)")
            let difference = Self.firstDifference(read, try YamsOracle.compose(text))
            #expect(difference == nil, "\(difference ?? ""):\n\(text)")
        }
    }

    @Test(arguments: [
        "{}", "{\"a\":1}", "{ \"a\" : [ ] , \"b\" : { \"c\" : null } }", "{\"a\": [1, -2, 0, true, false, null, \"x y\"]}",
        "{\n\t\"a\":\t{\"b\": [\n\t\t{\"c\": \"d\"}\n\t]}\n}\n", "{\"a\": 1,\r\n \"b\": 2}\r\n",
        "{\"a\":\n\n\n 1}", "{\"a\": \"#not a comment\"}", "{\"a\": \"- x\"}", "{\"a\": \"& * ! | > % @ `\"}",
        "{\"\": 1}", "{\"a\": \"\"}", "{\"a\": \"yes\", \"b\": \"null\", \"c\": \"0x10\", \"d\": \"1\"}",
        "{\"a\": 12345678901234567890}", "{\"a\": -0}", "{\"a\": {}}", "{\"a\": [[[[]]]]}",
    ])
    func edgeCasesReadAsYamsComposesThem(text: String) throws {
        let read = try #require(JSONDocumentReader.read(text), "plain JSON refused")
        let difference = Self.firstDifference(read, try YamsOracle.compose(text))
        #expect(difference == nil, "\(difference ?? "")")
    }

    @Test(arguments: [
        "{\"a\": 1.5}", "{\"a\": 1e3}", "{\"a\": 1, \"a\": 2}", "{\"a\": \"\\u00e9\"}", "{\"a\": \"\u{e9}\"}",
        "# comment\n{}", "\t{}", "{}\n\t", "{\"a\": 1} x", "{\"a\": 1\r}", "[1]", "\"a\"", "", "{a: 1}", "{\"a\": 1,}", "{\"a\": 01}",
        "{\"a\": [1 2]}", "{\"a\"\n: 1}",
    ])
    func textOutsideTheSubsetIsLeftToYams(text: String) {
        #expect(JSONDocumentReader.read(text) == nil)
    }

    @Test func mutatedJSONIsReadAsYamsComposesItOrLeftToYams() throws {
        var generator = SplitMix(seed: 2027)
        let texts = try Self.fixtureTexts()
        var accepted = 0
        for iteration in 0..<3_000 {
            let base = Array(texts[iteration % texts.count].utf8)
            let text = String(decoding: MutationTests.mutate(base, &generator), as: UTF8.self)
            guard let read = JSONDocumentReader.read(text) else { continue }
            accepted += 1
            let yams = Result { try YamsOracle.compose(text) }
            let difference = Self.firstDifference(read, try? yams.get())
            #expect(difference == nil, "\(difference ?? "") \(yams):\n\(text)")
        }
        // Whitespace mutations keep many texts valid: the comparison must have run.
        #expect(accepted > 300)
    }
}
