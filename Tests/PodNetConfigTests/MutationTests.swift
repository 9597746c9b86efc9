import Foundation
import Testing
import PodNetConfig
import PodNetTestSupport

/// Byte-level mutations of valid inputs: whatever the bytes, loading either succeeds
/// or names its problems; it never crashes or throws an empty error.
@Suite struct MutationTests {
    static let significant = Array("{}[]:,\"\\ \n\t-#&*!|>'%@`0123456789abcdefuxyz./".utf8)

    static func mutate(_ bytes: [UInt8], _ generator: inout SplitMix) -> [UInt8] {
        var result = bytes
        for _ in 0..<Int.random(in: 1...3, using: &generator) where !result.isEmpty {
            let at = Int.random(in: 0..<result.count, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: result.remove(at: at)
            case 1: result.insert(significant.randomElement(using: &generator)!, at: at)
            default: result[at] = significant.randomElement(using: &generator)!
            }
        }
        return result
    }

    static let iterations = 300

    @Test func mutatedConfigsAndNodeListsLoadOrNameTheirProblems() throws {
        let config = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("from-nodelist.yaml")))
        let full = Data(ConfigLoaderTests.full.utf8)
        let nodeList = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("from-nodelist.nodes.json")))
        var generator = SplitMix(seed: 2026)
        for iteration in 0..<Self.iterations {
            let mutatedNodeList = iteration % 2 == 0
            let base = iteration % 3 == 0 ? full : config
            let configText = String(decoding: mutatedNodeList ? Array(base) : Self.mutate(Array(base), &generator), as: UTF8.self)
            let nodeListText = String(decoding: mutatedNodeList ? Self.mutate(Array(nodeList), &generator) : Array(nodeList),
                                      as: UTF8.self)
            do {
                _ = try ConfigLoader.load(configText: configText, configName: "node.yaml",
                                          nodeListText: nodeListText, nodeListName: "nodes.json")
            } catch {
                #expect(!error.diagnostics.isEmpty, "iteration \(iteration)")
                for diagnostic in error.diagnostics {
                    #expect(["node.yaml", "nodes.json"].contains(diagnostic.file) && !diagnostic.message.isEmpty,
                            "iteration \(iteration): \(diagnostic)")
                }
            }
        }
    }
}
