import ArgumentParser
import PodNet
import PodNetCompiler

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the whole desired state: iptables chains, links, addresses, sysctls, routes.",
        discussion: """
        Without --iptables, prints for each family podnet's tables in iptables-save syntax (its \
        own chains and the jumps into them only), then the links, addresses, sysctls and routes in \
        `ip` syntax, each section headed by a comment line.

        With --iptables ipv4|ipv6, prints exactly what iptables-legacy-restore --noflush (or \
        ip6tables-legacy-restore --noflush) accepts for one load into a namespace. Built-in chains \
        are not re-declared, so their policies stay as they are.

        Examples:
          podnet render -f node.yaml
          podnet render -f node.yaml --iptables ipv6 \\
            | ip6tables-legacy-restore --noflush
        """
    )

    @OptionGroup var input: InputOptions

    @Option(help: ArgumentHelp("Print only one family's iptables-restore input.", valueName: "ipv4|ipv6"))
    var iptables: IPFamily?

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let (loaded, cluster) = try input.loadWithCluster()
        let config = try storeOptions.including(loaded)
        let state = try compileOrExit(config, cluster: cluster)
        if let family = iptables {
            print(StateRenderer.restoreText(state, family: family), terminator: "")
        } else {
            print(StateRenderer.render(state), terminator: "")
        }
    }
}

extension IPFamily: ExpressibleByArgument {}
