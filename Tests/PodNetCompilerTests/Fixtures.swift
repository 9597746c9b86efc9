import Foundation
import PodNet
import PodNetCompiler
import PodNetConfig

/// The golden fixtures: fixtures/NAME.yaml (with fixtures/NAME.nodes.json when present)
/// and their full render in rules/NAME.rules.
enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("fixtures")
    static let rules = packageRoot.appendingPathComponent("rules")

    /// Every fixtures/*.yaml, by name, sorted (fixtures/invalid holds the bad inputs).
    static let names: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }.sorted()
    }()

    static func configPath(_ name: String) -> String { fixtures.appendingPathComponent(name + ".yaml").path }

    static func nodeListPath(_ name: String) -> String? {
        let path = fixtures.appendingPathComponent(name + ".nodes.json").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static func goldenURL(_ name: String) -> URL { rules.appendingPathComponent(name + ".rules") }

    static func state(_ name: String) throws -> DesiredState {
        let loaded = try ConfigLoader.load(configPath: configPath(name), nodeListPath: nodeListPath(name))
        return try Compiler.compile(loaded.config)
    }
}
