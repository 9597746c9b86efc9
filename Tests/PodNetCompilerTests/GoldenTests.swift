import Foundation
import Testing
import PodNet
import PodNetCompiler

/// Each fixture's full render against rules/NAME.rules, byte for byte.
/// `UPDATE_GOLDEN=1` rewrites the files and still fails, so a re-record is never
/// mistaken for a pass: review the diff (git diff rules/) and run again without it.
@Suite struct GoldenTests {
    static let updating = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"

    @Test(arguments: Fixtures.names)
    func renderMatchesGoldenFile(fixture: String) throws {
        let actual = StateRenderer.render(try Fixtures.state(fixture))
        let golden = Fixtures.goldenURL(fixture)
        let expected = try? String(contentsOf: golden, encoding: .utf8)

        if Self.updating {
            if expected != actual {
                try FileManager.default.createDirectory(at: Fixtures.rules, withIntermediateDirectories: true)
                try actual.write(to: golden, atomically: true, encoding: .utf8)
            }
            let what = expected == actual ? "checked" : "rewrote"
            Issue.record(Comment(rawValue: "UPDATE_GOLDEN=1: \(what) rules/\(fixture).rules; "
                                 + "review it and run again without UPDATE_GOLDEN"))
            return
        }
        guard let expected else {
            Issue.record("rules/\(fixture).rules is missing: record it with UPDATE_GOLDEN=1 and review it")
            return
        }
        if expected != actual {
            let diff = try unifiedDiff(expected: golden, actual: actual, label: "rules/\(fixture).rules")
            Issue.record(Comment(rawValue: "rules/\(fixture).rules differs from the render (- golden, + render):\n" + diff))
        }
    }

    @Test func everyGoldenFileHasItsFixture() throws {
        let golden = try FileManager.default.contentsOfDirectory(atPath: Fixtures.rules.path)
            .filter { $0.hasSuffix(".rules") }.map { String($0.dropLast(".rules".count)) }
        #expect(Set(golden).subtracting(Fixtures.names).sorted() == [], "golden files left without a fixture")
    }

    @Test func theRequiredFixturesExist() {
        let required = ["ipv4-only", "ipv6-only", "dual-stack", "masquerade-off", "multiple-non-masquerade-cidrs",
                        "hairpin-veth", "hairpin-none", "forward-accept-off", "host-ports", "no-peers", "one-peer",
                        "many-peers", "pods", "from-nodelist"]
        #expect(Set(required).subtracting(Fixtures.names).sorted() == [])
    }

    /// `diff -u` of the golden file against the render.
    private func unifiedDiff(expected: URL, actual: String, label: String) throws -> String {
        let actualFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("podnet-render-\(UUID().uuidString).rules")
        try actual.write(to: actualFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: actualFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["diff", "-u", "--label", label, "--label", "render", expected.path, actualFile.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }
}
