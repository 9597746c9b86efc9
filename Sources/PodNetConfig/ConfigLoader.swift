import PodNet
import PodNetSystem

/// Reads a node's config file and, optionally, a Kubernetes NodeList, and returns the
/// validated `NodeConfig`, or every problem found in either.
public enum ConfigLoader {
    /// The NodeList path that means standard input.
    public static let standardInputPath = "-"

    /// Reads a config file (YAML; JSON accepted) and, optionally, a `kubectl get nodes -o json`
    /// NodeList and a `kubectl get nodes,namespaces,pods,networkpolicies -A -o json` List
    /// (each a path, or "-" for stdin). Returns the validated NodeConfig (and the cluster
    /// state) or throws every problem found.
    public static func load(configPath: String, nodeListPath: String? = nil,
                            clusterPath: String? = nil) throws(ConfigError) -> LoadedConfig {
        var diagnostics = Diagnostics()
        let configData = read(configPath, &diagnostics)
        if nodeListPath == standardInputPath, clusterPath == standardInputPath {
            diagnostics.error(SourceLocation(file: "<stdin>", fieldPath: .root),
                              "--nodes and --cluster cannot both read standard input")
            throw ConfigError(diagnostics: diagnostics.errors)
        }
        let nodeList = nodeListPath.flatMap { source($0, &diagnostics) }
        let cluster = clusterPath.flatMap { source($0, &diagnostics) }
        guard let configData, nodeListPath == nil || nodeList != nil, clusterPath == nil || cluster != nil else {
            throw ConfigError(diagnostics: diagnostics.errors)
        }
        guard let configText = String(validating: configData, as: UTF8.self) else {
            diagnostics.error(SourceLocation(file: configPath, fieldPath: .root), "not UTF-8 text")
            throw ConfigError(diagnostics: diagnostics.errors)
        }
        return try load(configText: configText, configName: configPath, nodeList: nodeList, cluster: cluster)
    }

    /// A path's bytes, or standard input's for "-".
    private static func source(_ path: String, _ diagnostics: inout Diagnostics) -> NodeListSource? {
        if path == standardInputPath {
            return read(InputFile.read(descriptor: 0), name: "<stdin>", &diagnostics).map { NodeListSource(data: $0, name: "<stdin>") }
        }
        return read(path, &diagnostics).map { NodeListSource(data: $0, name: path) }
    }

    /// The same on text already read (for tests and benchmarks); names are used in messages.
    public static func load(configText: String, configName: String,
                            nodeListText: String? = nil, nodeListName: String? = nil,
                            clusterText: String? = nil, clusterName: String? = nil) throws(ConfigError) -> LoadedConfig {
        try load(configText: configText, configName: configName,
                 nodeList: nodeListText.map { NodeListSource(data: Array($0.utf8), name: nodeListName ?? "<nodelist>") },
                 cluster: clusterText.map { NodeListSource(data: Array($0.utf8), name: clusterName ?? "<cluster>") })
    }

    /// The same on bytes already read (`podnet watch`'s Lists, made from the objects it
    /// watches); names are used in messages.
    public static func load(configText: String, configName: String,
                            nodeList: (data: [UInt8], name: String)?,
                            cluster: (data: [UInt8], name: String)?) throws(ConfigError) -> LoadedConfig {
        try load(configText: configText, configName: configName,
                 nodeList: nodeList.map { NodeListSource(data: $0.data, name: $0.name) },
                 cluster: cluster.map { NodeListSource(data: $0.data, name: $0.name) })
    }

    /// The config file's text, for loading it again with other Lists.
    public static func configText(path: String) throws(ConfigError) -> String {
        var diagnostics = Diagnostics()
        guard let data = read(path, &diagnostics) else { throw ConfigError(diagnostics: diagnostics.errors) }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigError(diagnostics: [ConfigDiagnostic(file: path, fieldPath: "", message: "not UTF-8 text")])
        }
        return text
    }

    private struct NodeListSource {
        var data: [UInt8]
        var name: String
    }

    private static func load(configText: String, configName: String, nodeList nodeListSource: NodeListSource?,
                             cluster clusterSource: NodeListSource?) throws(ConfigError) -> LoadedConfig {
        var diagnostics = Diagnostics()
        let document = composeDocument(configText, file: configName, &diagnostics)
            .map { ConfigDocument(root: $0, &diagnostics) }
        var source = nodeListSource
        var nodeList = nodeListSource.map { source in
            source.data.withUnsafeBufferPointer { NodeList.read($0, file: source.name, &diagnostics) }
        }
        let clusterList = clusterSource.map { source in
            source.data.withUnsafeBufferPointer { ClusterList.read($0, file: source.name, &diagnostics) }
        }
        // The cluster List's Node items are what a NodeList would say: one place only.
        if let clusterSource, let clusterList = clusterList ?? nil, let first = clusterList.nodes.items.first {
            if nodeListSource != nil {
                diagnostics.error(first.location, "a Node item, and --nodes gives the nodes too: give them in one place "
                                  + "(the cluster List's Node items, or --nodes)")
            } else {
                nodeList = .some(clusterList.nodes)
                source = clusterSource
            }
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
        let files = [configName] + [nodeListSource, clusterSource].compactMap { $0?.name }
        guard let config, diagnostics.errorCount == 0 else {
            throw ConfigError(diagnostics: Diagnostics.ordered(diagnostics.errors, files: files))
        }
        return LoadedConfig(config: config, warnings: Diagnostics.ordered(diagnostics.warnings, files: files),
                            cluster: clusterList??.cluster)
    }

    private static func read(_ path: String, _ diagnostics: inout Diagnostics) -> [UInt8]? {
        read(InputFile.read(path: path), name: path, &diagnostics)
    }

    private static func read(_ result: Result<[UInt8], InputFile.Failure>, name: String,
                             _ diagnostics: inout Diagnostics) -> [UInt8]? {
        switch result {
        case .success(let bytes):
            return bytes
        case .failure(let failure):
            diagnostics.error(SourceLocation(file: name, fieldPath: .root), "cannot read the file: \(failure.reason)")
            return nil
        }
    }

    /// The YAML (or JSON, which YAML reads too) document tree, with line and column on
    /// every node; a syntax error is reported where the parser stopped. Plain JSON is
    /// read by podnet's own reader, anything else by libyaml's parser, into the same tree.
    private static func composeDocument(_ text: String, file: String, _ diagnostics: inout Diagnostics) -> DocumentNode? {
        if let tree = JSONDocumentReader.read(text, file: file) {
            return DocumentNode(tree)
        }
        do {
            guard let tree = try YAMLDocumentReader.read(text, file: file) else {
                diagnostics.error(SourceLocation(file: file, fieldPath: .root),
                                  "the file is empty (expected a mapping with at least node and cluster)")
                return nil
            }
            return DocumentNode(tree)
        } catch {
            diagnostics.error(SourceLocation(file: file, fieldPath: .root, line: error.line, column: error.column),
                              error.message)
            return nil
        }
    }
}
