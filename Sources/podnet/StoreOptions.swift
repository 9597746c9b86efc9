import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import PodNet
import PodNetCNI
import PodNetDataplane

/// Where the attachments podnet made as the runtime's CNI plugin are recorded: they are
/// pods of the node like the config's, so diff and apply keep them (never stale) and
/// repair their host-port rules, render shows them and teardown releases them.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The CNI allocation store (the conflist's dataDir).", valueName: "directory"))
    var dataDir: String = CNIPluginConfig.defaultDataDirectory

    var store: AllocationStore { AllocationStore(directory: dataDir) }

    /// Whether a CNI plugin run ever made the store here.
    var exists: Bool { access(dataDir + "/allocations", F_OK) == 0 }

    /// The allocations, or exit 1 naming the unreadable record.
    func allocations() throws -> [Allocation] {
        guard exists else { return [] }
        do {
            return try store.all()
        } catch {
            Diagnostics.error("cannot read the CNI allocations: \(error)")
            throw ExitStatus.failure
        }
    }

    /// `config` with the runtime's attachments as pods. One whose network namespace is
    /// gone (the container ended without DEL) is left out and named: there is nothing to
    /// attach to, and DEL or GC releases it.
    func including(_ config: NodeConfig) throws -> NodeConfig {
        let allocations = try allocations().filter { allocation in
            guard allocation.namespaceExists else {
                Diagnostics.warn("CNI attachment \(allocation.id) (\(allocation.addresses.map(\.description).joined(separator: ", "))): "
                                 + "its network namespace \(allocation.netns) is gone; the runtime's DEL or GC releases it")
                return false
            }
            return true
        }
        return config.including(allocations)
    }

    /// Runs `body` under the store's lock when the store exists (never making it), so
    /// that an apply and a CNI ADD never write the tables from two views of the attachments.
    func locked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try store.withLockIfPresent(body)
        } catch let error as AllocationStore.Failure {
            Diagnostics.error("the CNI allocation store: \(error)")
            throw ExitStatus.failure
        }
    }

    /// Teardown: every allocation and the node's stamp go.
    func releaseAll() throws {
        guard exists else { return }
        do {
            for allocation in try store.all() { try store.remove(allocation.id) }
            try store.recordNodeStamp(nil)
        } catch {
            Diagnostics.error("cannot release the CNI allocations: \(error)")
            throw ExitStatus.failure
        }
    }

    /// Before an apply changes the node: until it has recorded the new stamp, CNI
    /// requests take the node-level path (they wait for the apply's lock).
    func forgetNodeStamp() throws {
        guard exists else { return }
        do {
            try store.recordNodeStamp(nil)
        } catch {
            Diagnostics.error("the CNI allocation store: \(error)")
            throw ExitStatus.failure
        }
    }

    /// After an apply made the node-level state whole: later ADDs of pods without host
    /// ports on the same node, wanting the same state, need no node-level work (no table
    /// read). Called holding the store's lock, as apply does, so that no ADD records an
    /// attachment in between; when the stamp cannot be taken it is forgotten, and the next
    /// ADD takes the node-level path.
    func recordNodeStamp(_ desired: DesiredState, dataplane: NodeDataplane) {
        guard exists else { return }
        let stamp = try? desired.bridge.flatMap { try dataplane.stamp(for: desired, bridgeName: $0.name) }
        try? store.recordNodeStamp(stamp ?? nil)
    }
}
