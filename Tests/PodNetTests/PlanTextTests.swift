import Testing
@testable import PodNet

/// The plan's lines as the JSON plan takes them, one per line the text shows.
@Suite struct PlanTextTests {
    @Test func tableLinesAreTheTextsLines() {
        let chain = ChainName("PODNET-X")
        let rule = Rule(matches: [.comment("podnet: a test")], target: .accept)
        let replaced = PlanText.tableLines(.replaceRule(chain, index: 0, old: rule, new: Rule(target: .drop)))
        #expect(replaced.map(\.0) == [.remove, .add])
        #expect(replaced.map(\.1) == ["-A PODNET-X -m comment --comment \"podnet: a test\" -j ACCEPT", "-A PODNET-X -j DROP"])
        #expect(PlanText.tableLines(.createChain(chain)).map(\.1) == [":PODNET-X - [0:0]"])
        #expect(PlanText.tableLines(.insertRule("FORWARD", index: 2, rule)).map(\.1)
            == ["-I FORWARD 3 -m comment --comment \"podnet: a test\" -j ACCEPT"])
        #expect(PlanText.tableLines(.flushChain(chain, rules: [])).isEmpty)
    }

    /// A rule read from the kernel may hold any comment, a line break included: it is
    /// still one operation line (the text is not split to find the lines again).
    @Test func aCommentWithALineBreakStaysOneLine() {
        let rule = Rule(matches: [.comment("two\nlines")], target: .accept)
        let lines = PlanText.tableLines(.deleteRule("PODNET-X", index: 0, rule))
        #expect(lines.count == 1)
        #expect(lines.first?.0 == .remove)
        #expect(lines.first?.1 == "-A PODNET-X -m comment --comment \"two\nlines\" -j ACCEPT")
    }
}
