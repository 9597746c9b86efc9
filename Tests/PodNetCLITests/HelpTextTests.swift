import Foundation
import Testing
import PodNetTestSupport

/// `podnet [SUBCOMMAND] --help` as a reader sees it at 80 columns (COLUMNS=80, which
/// ArgumentParser prefers over the terminal's size; 80 is also its width off a terminal).
///
/// ArgumentParser wraps each line of a command's text itself, so a paragraph written with
/// hard line breaks near 80 columns comes out as a full line plus an orphan word or two.
/// These tests read the binary's real output and check three things:
/// - no prose line ends early: where a prose line is followed by more prose at the same
///   indentation, the next line's first word would not have fit on it. "Fit" is
///   ArgumentParser's rule: it breaks at the last space in the first 80 characters, so a
///   wrapped line plus a space plus the next word is at least 80 characters. Prose is the
///   unindented text above USAGE (overview and discussion) and an option's or subcommand's
///   help, from its first line (beside the name) on; a discussion line indented by the
///   author is an example or a list item and ends where its author ended it.
/// - no line is wider than 80 columns, except the USAGE synopsis (ArgumentParser prints it
///   on one line whatever the width) and a line that is one unbreakable token.
/// - every example and list line above USAGE comes out whole: the same line as in the
///   unwrapped text (COLUMNS=1000). A wrapped example continues at column 0 and no longer
///   reads as one command.
@Suite struct HelpTextTests {
    static let width = 80
    /// The root command and every subcommand (ArgumentParser answers an unknown
    /// subcommand's --help with the root's help, so each help is checked to be its own).
    static let commands: [[String]] = [
        [], ["validate"], ["render"], ["diff"], ["apply"], ["watch"], ["teardown"], ["allocations"],
    ]

    static func help(_ command: [String], columns: Int) throws -> [Substring] {
        let result = try PodNetBinary.run(command + ["--help"], environment: ["COLUMNS": "\(columns)"])
        #expect(result.status == 0, "\(command): \(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let usage = "USAGE: " + (["podnet"] + command).joined(separator: " ")
        #expect(lines.contains { $0.hasPrefix(usage) }, "\(command): not its own help")
        return lines
    }

    static func indentation(_ line: Substring) -> Int { line.prefix { $0 == " " }.count }

    /// The column where a line's help text starts: its indentation, or for a line that names
    /// an option or subcommand first, the column after the gap of two or more spaces.
    static func helpColumn(_ line: Substring) -> Int {
        let indent = indentation(line)
        let text = Array(line)
        let gapEnd = (indent + 2..<max(text.count, indent + 2)).first {
            text[$0] != " " && text[$0 - 1] == " " && text[$0 - 2] == " "
        }
        return gapEnd ?? indent
    }

    /// The lines above the USAGE synopsis: overview and discussion.
    static func description(_ lines: [Substring]) -> ArraySlice<Substring> {
        lines[..<(lines.firstIndex { $0.hasPrefix("USAGE:") } ?? lines.endIndex)]
    }

    @Test(arguments: commands) func noProseLineIsWrappedEarly(command: [String]) throws {
        let lines = try Self.help(command, columns: Self.width)
        let descriptionEnd = Self.description(lines).endIndex
        for index in lines.indices.dropLast() {
            let line = lines[index], next = lines[index + 1]
            let indent = Self.indentation(next)
            guard !line.isEmpty, !next.isEmpty else { continue }
            if index + 1 < descriptionEnd {
                guard indent == 0, Self.indentation(line) == 0 else { continue }
            } else {
                // An option's or subcommand's help: the next line continues it when the line
                // holds help text in the same column (after the name and a gap of spaces).
                guard indent > 2, Self.helpColumn(line) == indent else { continue }
            }
            let word = next.dropFirst(indent).prefix { $0 != " " }
            #expect(line.count + 1 + word.count >= Self.width,
                    "\(command): \"\(word)\" would have fit on \"\(line)\"")
        }
    }

    @Test(arguments: commands) func noLineIsWiderThanTheTerminal(command: [String]) throws {
        for line in try Self.help(command, columns: Self.width) where line.count > Self.width {
            let unbreakable = !line.dropFirst(Self.indentation(line)).contains(" ")
            #expect(line.hasPrefix("USAGE: ") || unbreakable, "\(command): \(line.count) columns: \(line)")
        }
    }

    @Test(arguments: commands) func examplesAndListsComeOutWhole(command: [String]) throws {
        let wrapped = Set(Self.description(try Self.help(command, columns: Self.width)))
        for line in Self.description(try Self.help(command, columns: 1000)) where Self.indentation(line) > 0 {
            #expect(wrapped.contains(line), "\(command): wrapped at \(Self.width) columns: \(line)")
        }
    }
}
