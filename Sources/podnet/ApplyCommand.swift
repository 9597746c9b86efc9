import ArgumentParser
import PodNet
import PodNetDataplane

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the node match the config, changing only the difference.",
        discussion: """
        Observes the node, computes the same plan `podnet diff` shows and executes it: one \
        iptables commit per changed table (none for an unchanged one), netlink writes only for \
        what differs, nothing at all when the node already matches. If the kernel refuses any \
        step, everything this run changed is undone and apply exits 1 naming the object and the \
        kernel's reason. A route to a peer stands alone: one the kernel refuses (a gateway that is \
        not on-link) is named with the kernel's reason, everything else is applied, and apply \
        exits 3; the next apply retries it.

        Prints what it changed (the executed plan), or "No changes".

        Exit status: 0 success, 3 applied except the routes named, 65 invalid input, 1 any other \
        failure.

        Examples:
          podnet apply -f node.yaml
          kubectl get nodes -o json | podnet apply -f node.yaml --nodes -
          podnet apply -f node.yaml --netns node-a --dry-run
        """
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var node: NodeOptions
    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Only show the plan, as `podnet diff` does (same exit statuses).")
    var dryRun = false

    func run() throws {
        if dryRun {
            var diff = DiffCommand()
            diff.input = input
            diff.node = node
            diff.storeOptions = storeOptions
            return try diff.run()
        }
        let logger = node.logger()
        let applied = try storeOptions.locked { try NodeApplication.apply(try input.loadAll(), node: node, store: storeOptions, logger: logger) }
        let (result, desired) = (applied.result, applied.desired)
        try report(result, node, bridge: desired.bridge)
    }
}
