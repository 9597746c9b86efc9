import Foundation

/// Runs the podnet executable built beside this test bundle.
public enum PodNetBinary {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-cli-\(UUID()).out")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-cli-\(UUID()).err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: out, encoding: .utf8),
                      stderr: try String(contentsOf: err, encoding: .utf8))
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
