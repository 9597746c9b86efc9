import Foundation
import PodNetConfig

/// The package's fixtures, found from this file's place in the tree.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // PodNetConfigTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("fixtures")

    static func path(_ name: String) -> String {
        root.appendingPathComponent(name).path
    }

    /// Loads fixtures/NAME, with NAME's `.nodes.json` beside it when there is one
    /// (the convention of the golden tests and the CLI tests).
    static func load(_ name: String) throws(ConfigError) -> LoadedConfig {
        let configPath = path(name)
        let nodeListPath = URL(fileURLWithPath: configPath).deletingPathExtension()
            .appendingPathExtension("nodes.json").path
        return try ConfigLoader.load(configPath: configPath,
                                     nodeListPath: FileManager.default.fileExists(atPath: nodeListPath) ? nodeListPath : nil)
    }

    /// The config files of fixtures/invalid (not their NodeLists).
    static func invalidConfigNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path("invalid"))
            .filter { !$0.hasSuffix(".nodes.json") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".json")) }
            .sorted()
    }
}

/// The problems found in config (and NodeList) text that must be refused; empty
/// when it was accepted, which the callers' expectations then report.
func problems(_ config: String, nodeList: String? = nil) -> [ConfigDiagnostic] {
    do {
        _ = try ConfigLoader.load(configText: config, configName: "node.yaml",
                                  nodeListText: nodeList, nodeListName: "nodes.json")
        return []
    } catch {
        return error.diagnostics
    }
}
