import PodNet

/// A validated config and what was worth saying about it without refusing it
/// (NodeList items skipped for lack of a pod CIDR, ...).
public struct LoadedConfig: Sendable {
    public var config: NodeConfig
    public var warnings: [ConfigDiagnostic]
    /// The namespaces, pods and policies of `--cluster`; nil without it.
    public var cluster: ClusterState?
    /// The `--cluster` List's bytes as read: `podnet apply` keeps them for its CNI plugin,
    /// whose node-level runs must keep the policies that List compiles to.
    public var clusterData: [UInt8]?

    public init(config: NodeConfig, warnings: [ConfigDiagnostic], cluster: ClusterState? = nil,
                clusterData: [UInt8]? = nil) {
        self.config = config
        self.warnings = warnings
        self.cluster = cluster
        self.clusterData = clusterData
    }
}
