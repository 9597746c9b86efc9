import Foundation
import PodNet
import Yams

/// Reads a node's config file and, optionally, a Kubernetes NodeList, and returns the
/// validated `NodeConfig`, or every problem found in either.
public enum ConfigLoader {
    /// The NodeList path that means standard input.
    public static let standardInputPath = "-"

    /// Reads a config file (YAML; JSON accepted) and, optionally, a `kubectl get nodes -o json`
    /// NodeList (a path, or "-" for stdin). Returns the validated NodeConfig or throws every problem found.
    public static func load(configPath: String, nodeListPath: String? = nil) throws(ConfigError) -> LoadedConfig {
        var diagnostics = Diagnostics()
        let configData = read(configPath, &diagnostics)
        var nodeList: NodeListSource?
        if nodeListPath == standardInputPath {
            nodeList = NodeListSource(data: FileHandle.standardInput.readDataToEndOfFile(), name: "<stdin>")
        } else if let nodeListPath, let data = read(nodeListPath, &diagnostics) {
            nodeList = NodeListSource(data: data, name: nodeListPath)
        }
        guard let configData, nodeListPath == nil || nodeList != nil else {
            throw ConfigError(diagnostics: diagnostics.errors)
        }
        guard let configText = String(data: configData, encoding: .utf8) else {
            diagnostics.error(SourceLocation(file: configPath, fieldPath: .root), "not UTF-8 text")
            throw ConfigError(diagnostics: diagnostics.errors)
        }
        return try load(configText: configText, configName: configPath, nodeList: nodeList)
    }

    /// The same on text already read (for tests and benchmarks); names are used in messages.
    public static func load(configText: String, configName: String,
                            nodeListText: String? = nil, nodeListName: String? = nil) throws(ConfigError) -> LoadedConfig {
        try load(configText: configText, configName: configName,
                 nodeList: nodeListText.map { NodeListSource(data: Data($0.utf8), name: nodeListName ?? "<nodelist>") })
    }

    private struct NodeListSource {
        var data: Data
        var name: String
    }

    private static func load(configText: String, configName: String,
                             nodeList source: NodeListSource?) throws(ConfigError) -> LoadedConfig {
        var diagnostics = Diagnostics()
        let document = composeDocument(configText, file: configName, &diagnostics)
            .map { ConfigDocument(root: $0, &diagnostics) }
        let nodeList = source.map { source in
            source.data.withUnsafeBytes { NodeList.read($0.bindMemory(to: UInt8.self), file: source.name, &diagnostics) }
        }
        // The NodeList is split by this node's name: without a valid name, only its
        // own syntax and shape can be checked.
        let input: NodeListInput
        switch (nodeList, document?.nodeName) {
        case (nil, _): input = .absent
        case (.some(nil), _), (_, nil): input = .unusable
        case (.some(let list?), let name?):
            input = .read(NodeListContents(list, nodeName: name.value, file: source?.name ?? "", &diagnostics))
        }
        let config = document.flatMap { NodeConfigValidator.validate($0, nodeList: input, &diagnostics) }
        // The config file's problems first: the NodeList's may follow from them.
        let files = [configName] + (source.map { [$0.name] } ?? [])
        guard let config, diagnostics.errorCount == 0 else {
            throw ConfigError(diagnostics: Diagnostics.ordered(diagnostics.errors, files: files))
        }
        return LoadedConfig(config: config, warnings: Diagnostics.ordered(diagnostics.warnings, files: files))
    }

    private static func read(_ path: String, _ diagnostics: inout Diagnostics) -> Data? {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedDescription
            diagnostics.error(SourceLocation(file: path, fieldPath: .root), "cannot read the file: \(reason)")
            return nil
        }
    }

    /// The YAML (or JSON, which YAML reads too) document tree, with line and column
    /// on every node; a syntax error is reported where the parser stopped. Plain JSON
    /// is read without Yams, into the same tree.
    private static func composeDocument(_ text: String, file: String, _ diagnostics: inout Diagnostics) -> DocumentNode? {
        if let tree = JSONDocumentReader.read(text, file: file) {
            return DocumentNode(tree)
        }
        let whole = SourceLocation(file: file, fieldPath: .root)
        do {
            guard let tree = try composeWithYams(text, file: file) else {
                diagnostics.error(whole, "the file is empty (expected a mapping with at least node and cluster)")
                return nil
            }
            return DocumentNode(tree)
        } catch let error as YamlError {
            let (mark, message) = describe(error)
            diagnostics.error(SourceLocation(file: file, fieldPath: .root, line: mark?.line, column: mark?.column), message)
        } catch {
            diagnostics.error(whole, "cannot parse: \(error)")
        }
        return nil
    }

    /// The tree Yams composes (nil for an empty document).
    static func composeWithYams(_ text: String, file: String = "") throws -> DocumentTree? {
        try Yams.compose(yaml: text).map { DocumentTree($0, file: file) }
    }

    private static func describe(_ error: YamlError) -> (Mark?, String) {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return (mark, "syntax error: \(problem)\(during)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return (context.mark, "duplicate key \(duplicates.joined(separator: ", ")) in a mapping")
        case .reader(let problem, _, _, _):
            return (nil, "cannot read the text: \(problem)")
        default:
            return (nil, "cannot parse: \(error)")
        }
    }
}
