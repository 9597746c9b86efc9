import Foundation
import Testing
@testable import PodNetConfig
import PodNetTestSupport

/// podnet reads YAML with libyaml's events (no Yams, no Foundation in the binary); these
/// tests hold it to what Yams, on the same libyaml, makes of the same text: the tree
/// (types, values, key order, lines and columns) or the error (line, column, message),
/// on every fixture, on edge cases, on mutations, and the type of any plain scalar.
@Suite struct YAMLDocumentReaderTests {
    static func fixtureTexts() throws -> [(name: String, text: String)] {
        let valid = try FileManager.default.contentsOfDirectory(atPath: Fixtures.root.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        let invalid = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path("invalid"))
            .filter { $0.hasSuffix(".yaml") }.sorted().map { "invalid/" + $0 }
        return try (valid + invalid).map { ($0, try String(contentsOfFile: Fixtures.path($0), encoding: .utf8)) }
    }

    @Test func everyFixtureReadsAsYamsComposesIt() throws {
        let fixtures = try Self.fixtureTexts()
        // Every fixture, valid and invalid: a floor that catches a listing gone wrong.
        #expect(fixtures.count >= 60)
        for (name, text) in fixtures {
            let expected = YamsOracle.outcome(text)
            let read = YamsOracle.podnetOutcome(text)
            #expect(read == expected, "\(name): \(Self.describe(read)) vs Yams \(Self.describe(expected))")
        }
    }

    @Test(arguments: [
        "", "# only a comment\n", "---\n", "--- \n...\n", "a: 1\n---\nb: 2\n", "a: 1\n...\n---\n",
        "a: &x {b: 1, c: [2, 3]}\nd: *x\ne: *x\n", "a: *y\n", "a: &x 1\nb: &x 2\nc: *x\n", "a: &x [*x]\n",
        "a: 1\na: 2\n", "b: 1\na: 1\nb: 2\na: 2\n", "{a: 1, 'a': 2}", "1: a\n'1': b\n", "? [a]\n: 1\n? [a]\n: 2\n",
        "? [a, b]\n: c\n", "&k a: b\n*k : c\n", "a: !!int \"5\"\nb: !!bool maybe\nc: ! 5\nd: !!float 1\ne: !custom x\n",
        "a: |\n  text\n  more\nb: >\n  folded\n  text\n", "a: [1, 2, {b: c}]\n", "a:\n\t- x\n", "a: b: c\n",
        "a: 'unterminated\n", "[1, 2", "a: \"\\x00b\"\n", "\u{FEFF}a: 1\n", "- a\n- b\n", "plain\n", "a:\n  - b\n  c: d\n",
        "a: 0x1F\nb: 0o17\nc: 017\nd: 1_000\ne: 1:30\nf: 1.5\ng: .5\nh: -.inf\ni: .NaN\nj: 2001-12-14\n"
            + "k: 2001-12-14t21:59:43.10-05:00\nl: ~\nm: Null\nn: yes\no: Off\np: <<\nq: =\nr: 1:30.5\ns: +1e5\nt:\n",
        "a: yes\nb: \"yes\"\nc: 'null'\nd: !!str 1\n", "%YAML 1.1\n---\na: 1\n", "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
        "a: [\n", "a: {b: 1,, c: 2}\n", "  a: 1\n b: 2\n", "a: @x\n", "a: `x\n", "a: %x\n",
    ])
    func edgeCasesReadAsYamsReadsThem(text: String) {
        let expected = YamsOracle.outcome(text)
        let read = YamsOracle.podnetOutcome(text)
        #expect(read == expected, "\(Self.describe(read)) vs Yams \(Self.describe(expected))")
    }

    @Test func mutatedFixturesReadAsYamsReadsThem() throws {
        var generator = SplitMix(seed: 2028)
        let texts = try Self.fixtureTexts().map(\.text)
        var trees = 0, errors = 0
        for iteration in 0..<3_000 {
            let base = Array(texts[iteration % texts.count].utf8)
            let text = String(decoding: MutationTests.mutate(base, &generator), as: UTF8.self)
            let expected = YamsOracle.outcome(text)
            let read = YamsOracle.podnetOutcome(text)
            #expect(read == expected, "\(Self.describe(read)) vs Yams \(Self.describe(expected)):\n\(text)")
            if case .tree = expected { trees += 1 } else { errors += 1 }
        }
        // Both sides of the comparison must have been exercised.
        #expect(trees > 500 && errors > 300, "\(trees) trees, \(errors) errors")
    }

    @Test func plainScalarsResolveAsYamsResolvesThem() {
        let tricky = [
            "", "~", "null", "NULL", "nULL", "yes", "YES", "yEs", "on", "Off", "y", "n", "true", "0", "-0", "+0", "00", "08",
            "0o", "0o7", "0o8", "0b", "0b101", "0b2", "0x", "0x_", "0xfF", "0xG", "1_000", "_1", "1:30", "1:60", "1:5:59",
            "0:30", "-1:30", "1:", "1.5", "1.", ".5", ".", "-.5", ".5e+3", ".5e3", "1e3", "1E-3", "1e", "+.inf", ".Inf",
            "-.INF", ".nan", "-.nan", ".NaN", "1:30.5", "1:30.", "190:20:30.15", "<<", "=", "2001-12-14",
            "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2001-12-14  21:59:43", "2002-1-1 1:02:03Z",
            "2001-12-14T21:59:43.10", "2001-1-14", "2001-12-14 ", "12:00", "1_0:3_0", "1e_3", "1__2",
        ]
        for text in tricky {
            #expect(Self.tagName(YAMLScalarTag(resolving: text)) == YamsOracle.resolvedTag(text), "\(text)")
        }
        var generator = SplitMix(seed: 99)
        let alphabet = Array("0123456789_-+.:eExXoObBaAfFnNiItTyYsSlLuUZ~<= \t")
        var kinds = Set<String>()
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...9, using: &generator)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            let expected = YamsOracle.resolvedTag(text)
            kinds.insert(expected)
            #expect(Self.tagName(YAMLScalarTag(resolving: text)) == expected, "\(text.debugDescription)")
        }
        // Random texts reach every kind but the rarest (timestamps come from the list).
        #expect(kinds.count >= 6, "\(kinds)")
    }

    static func tagName(_ tag: YAMLScalarTag) -> String {
        switch tag {
        case .null: return "tag:yaml.org,2002:null"
        case .bool: return "tag:yaml.org,2002:bool"
        case .int: return "tag:yaml.org,2002:int"
        case .float: return "tag:yaml.org,2002:float"
        case .string: return "tag:yaml.org,2002:str"
        case .merge: return "tag:yaml.org,2002:merge"
        case .timestamp: return "tag:yaml.org,2002:timestamp"
        case .value: return "tag:yaml.org,2002:value"
        case .other(let name): return name
        }
    }

    static func describe(_ outcome: YamsOracle.Outcome) -> String {
        switch outcome {
        case .tree(nil): return "no document"
        case .tree(let tree?):
            let nodes = tree.nodes.indices.prefix(12).map { index in
                let node = tree.nodes[index]
                return "\(node.kind) \(tree.text(of: Int32(index)).debugDescription) \(node.line):\(node.column)"
            }
            return "\(tree.nodes.count) nodes: \(nodes)"
        case let .error(line, column, message): return "error at \(line.map(String.init) ?? "-"):\(column.map(String.init) ?? "-"): \(message)"
        }
    }
}
