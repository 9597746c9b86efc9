import Foundation

/// Runs the podnet executable built beside this test bundle.
public enum PodNetBinary {
    public typealias Result = ProcessResult

    /// SwiftPM puts the test runner and the podnet executable in the same build directory.
    public static var path: String {
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        // On Linux the runner is <build>/podnetPackageTests.xctest (a file); elsewhere a bundle.
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("podnet").path),
              directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("podnet").path
    }

    public static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Result {
        try runProcess(path, arguments, stdin: stdin, environment: environment)
    }
}

/// The golden fixtures: fixtures/NAME.yaml (+ NAME.nodes.json) with rules/NAME.rules.
public enum Fixtures {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    public struct Fixture: Sendable {
        public var name: String
        public var arguments: [String]
    }

    public static func valid() throws -> [Fixture] {
        try FileManager.default.contentsOfDirectory(atPath: root + "/fixtures")
            .filter { $0.hasSuffix(".yaml") }
            .sorted()
            .map { file in
                let name = String(file.dropLast(".yaml".count))
                var arguments = ["-f", root + "/fixtures/" + file]
                let nodes = root + "/fixtures/\(name).nodes.json"
                if FileManager.default.fileExists(atPath: nodes) { arguments += ["--nodes", nodes] }
                return Fixture(name: name, arguments: arguments)
            }
    }
}
