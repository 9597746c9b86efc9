import Foundation
import Testing

/// A golden text file: compared byte for byte, with a unified diff on mismatch.
/// `UPDATE_GOLDEN=1` rewrites it and still records an issue, so that a re-record is
/// never mistaken for a pass: review `git diff rules/` and run again without it.
enum GoldenFile {
    static let updating = ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"

    /// `label` is the path shown in messages (rules/NAME.rules).
    static func check(_ actual: String, against golden: URL, label: String) throws {
        let expected = try? String(contentsOf: golden, encoding: .utf8)
        if updating {
            if expected != actual {
                try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(),
                                                        withIntermediateDirectories: true)
                try actual.write(to: golden, atomically: true, encoding: .utf8)
            }
            let what = expected == actual ? "checked" : "rewrote"
            Issue.record(Comment(rawValue: "UPDATE_GOLDEN=1: \(what) \(label); review it and run again without UPDATE_GOLDEN"))
            return
        }
        guard let expected else {
            Issue.record(Comment(rawValue: "\(label) is missing: record it with UPDATE_GOLDEN=1 and review it"))
            return
        }
        if expected != actual {
            Issue.record(Comment(rawValue: "\(label) differs (- golden, + actual):\n"
                                 + (try unifiedDiff(expected: golden, actual: actual, label: label))))
        }
    }

    /// `diff -u` of the golden file against the actual text.
    private static func unifiedDiff(expected: URL, actual: String, label: String) throws -> String {
        let actualFile = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-golden-\(UUID().uuidString)")
        try actual.write(to: actualFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: actualFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["diff", "-u", "--label", label, "--label", "actual", expected.path, actualFile.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }
}
