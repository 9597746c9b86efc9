import ArgumentParser
import PodNet
import PodNetConfig

/// The inputs every command that reads a node description shares.
struct InputOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("config")],
            help: ArgumentHelp("The node config file (YAML; JSON accepted).", valueName: "file"))
    var configPath: String

    @Option(name: .customLong("nodes"),
            help: ArgumentHelp("A `kubectl get nodes -o json` NodeList supplying this node's pod CIDRs and the peers; - reads stdin.",
                               valueName: "file"))
    var nodeListPath: String?

    @Option(name: .customLong("cluster"),
            help: ArgumentHelp("A `kubectl get nodes,namespaces,pods,networkpolicies -A -o json` List: NetworkPolicy to "
                               + "enforce for this node's pods (its Node items stand for --nodes); - reads stdin.",
                               valueName: "file"))
    var clusterPath: String?

    init() {}

    init(configPath: String, nodeListPath: String? = nil) {
        self.configPath = configPath
        self.nodeListPath = nodeListPath
        clusterPath = nil
    }

    /// Loads and validates the inputs; prints warnings; invalid input exits 65.
    func load() throws -> NodeConfig {
        try loadWithCluster().config
    }

    /// The config and, with --cluster, the cluster state.
    func loadWithCluster() throws -> (config: NodeConfig, cluster: ClusterState?) {
        let loaded = try loadAll()
        return (loaded.config, loaded.cluster)
    }

    /// Everything the inputs gave, the cluster List's bytes included.
    func loadAll() throws -> LoadedConfig {
        do {
            let loaded = try ConfigLoader.load(configPath: configPath, nodeListPath: nodeListPath, clusterPath: clusterPath)
            for warning in loaded.warnings {
                Diagnostics.warn(warning.description)
            }
            return loaded
        } catch {
            Diagnostics.error(error.description)
            throw ExitStatus.invalidInput
        }
    }
}
