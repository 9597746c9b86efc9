import Logging
import PodNet
import PodNetConfig
import PodNetDataplane

/// One whole apply of loaded inputs, as `podnet apply` makes it and `podnet watch` makes
/// it whenever an event changes more than it can apply alone. Called holding the
/// store's lock.
enum NodeApplication {
    struct Applied {
        var result: ApplyResult
        var desired: DesiredState
        /// The config with the runtime's attachments as pods, which `desired` compiles.
        var config: NodeConfig
    }

    static func apply(_ loaded: LoadedConfig, node: NodeOptions, store: StoreOptions, logger: Logger) throws -> Applied {
        let config = try store.including(loaded.config)
        let desired = try compileOrExit(config, cluster: loaded.cluster)
        // A killed or failed apply leaves the node between two states: no CNI request
        // may take it for the recorded one meanwhile.
        try store.forgetNodeStamp()
        let dataplane = node.dataplane()
        dataplane.warnings(for: desired).forEach(Diagnostics.warn)
        let result = try failing {
            try timed(logger, "apply") { try dataplane.apply(desired, ownership: Ownership(config)) }
        }
        store.recordNodeStamp(desired, dataplane: dataplane)
        return Applied(result: result, desired: desired, config: config)
    }
}
