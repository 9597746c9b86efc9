import PodNet

/// A validated config and what was worth saying about it without refusing it
/// (NodeList items skipped for lack of a pod CIDR, ...).
public struct LoadedConfig: Sendable {
    public var config: NodeConfig
    public var warnings: [ConfigDiagnostic]
    /// The namespaces, pods and policies of `--cluster`; nil without it.
    public var cluster: ClusterState?

    public init(config: NodeConfig, warnings: [ConfigDiagnostic], cluster: ClusterState? = nil) {
        self.config = config
        self.warnings = warnings
        self.cluster = cluster
    }
}
