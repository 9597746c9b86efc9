import ArgumentParser
import PodNet
import PodNetCompiler

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a node config (and NodeList) without touching the kernel.",
        discussion: """
        Reports every problem found, each with the file, line, field path and what is wrong, and \
        exits 65 when there is any. The config is also compiled, so a config that validates \
        renders and applies.

        Examples:
          podnet validate -f node.yaml
          kubectl get nodes -o json | podnet validate -f node.yaml --nodes -
        """
    )

    @OptionGroup var input: InputOptions

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    func run() throws {
        let (config, cluster) = try input.loadWithCluster()
        let state = try compileOrExit(config, cluster: cluster)
        guard !quiet else { return }
        let chains = state.tables.reduce(0) { $0 + $1.chains.count }
        let rules = state.tables.reduce(0) { $0 + $1.chains.reduce(0) { $0 + $1.rules.count } + $1.jumps.count }
        print("\(input.configPath): valid: node \(config.node.name), \(config.families.map(\.rawValue).joined(separator: "+")), "
              + "\(config.peers.count) peers, \(config.hostPorts.count) host ports, \(config.pods.count) pods "
              + "-> \(chains) chains, \(rules) rules, \(state.routes.count) routes"
              + (state.ipsets.isEmpty ? "" : ", \(state.ipsets.count) ipsets"))
    }
}

/// A compile error is podnet's own fault (validation should have caught the input), so it exits 1.
func compileOrExit(_ config: NodeConfig, cluster: ClusterState? = nil) throws -> DesiredState {
    do {
        return try Compiler.compile(config, cluster: cluster)
    } catch {
        Diagnostics.error("internal error while compiling the config: \(error)")
        throw ExitStatus.failure
    }
}
