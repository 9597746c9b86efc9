import ArgumentParser
import PodNet
import PodNetDataplane

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what apply would change on the node (the dry run); change nothing.",
        discussion: """
        Compares the config's desired state with what the kernel holds and prints the plan: per \
        family and table, podnet's chains with +/- lines in iptables-save syntax (a replaced rule \
        shows both), then links, addresses, sysctls, routes and pods with +/-/~ lines in `ip` \
        syntax, then a one-line summary. Colour only on a terminal.

        Exit status: 0 nothing to do, 2 changes pending, 65 invalid input, 1 any other failure \
        (including a conflict with something podnet does not own), so scripts can use it as a \
        drift check.

        Examples:
          podnet diff -f node.yaml
          podnet diff -f node.yaml --netns node-a --output json
          podnet diff -f node.yaml >/dev/null \\
            || echo "node drifted (or diff failed: $?)"
        """
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var node: NodeOptions
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let logger = node.logger()
        let (loaded, cluster) = try input.loadWithCluster()
        let config = try storeOptions.including(loaded)
        let desired = try compileOrExit(config, cluster: cluster)
        let dataplane = node.dataplane()
        let plan = try failing {
            try timed(logger, "observe and plan") { try dataplane.plan(desired, ownership: Ownership(config)) }
        }
        dataplane.warnings(for: desired).forEach(Diagnostics.warn)
        node.print(plan, bridge: desired.bridge)
        if !plan.conflicts.isEmpty { throw ExitStatus.failure }
        if !plan.isEmpty { throw ExitStatus.changesPending }
    }
}
