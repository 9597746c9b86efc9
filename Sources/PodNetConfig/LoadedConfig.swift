import PodNet

/// A validated config and what was worth saying about it without refusing it
/// (NodeList items skipped for lack of a pod CIDR, ...).
public struct LoadedConfig: Sendable {
    public var config: NodeConfig
    public var warnings: [ConfigDiagnostic]

    public init(config: NodeConfig, warnings: [ConfigDiagnostic]) {
        self.config = config
        self.warnings = warnings
    }
}
