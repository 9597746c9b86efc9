import ArgumentParser

@main
struct PodNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podnet",
        abstract: "Node-level pod networking for Kubernetes: kubenet's bridge, masquerade, host ports and routes, declared in one file.",
        discussion: """
        podnet compiles a node's pod networking (the cbr0 bridge, pod subnets, masquerade,
        hairpin, forward-accept, routes to the other nodes' pod subnets, host ports, pods)
        into iptables chains and links, addresses and routes.

        Examples:
          podnet validate -f node.yaml
          podnet validate -f node.yaml --nodes nodes.json
          kubectl get nodes -o json | podnet render -f node.yaml --nodes -
          podnet render -f node.yaml --iptables ipv4 | iptables-legacy-restore --noflush

        Exit status: 0 success, 64 usage error, 65 invalid input, 1 any other failure.
        """,
        version: PodNetVersion.current,
        subcommands: [ValidateCommand.self, RenderCommand.self]
    )
}

enum PodNetVersion {
    static let current = "0.1.0"
}
