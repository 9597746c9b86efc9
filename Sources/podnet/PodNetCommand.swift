import ArgumentParser

@main
struct PodNetCommand: ParsableCommand {
    static func main() {
        Allocator.keepFreedMemory()
        CNIEntry.runIfPlugin()
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "podnet",
        abstract: "Node-level pod networking for Kubernetes: kubenet's bridge, masquerade, host ports and routes, declared in one file.",
        discussion: """
        podnet compiles a node's pod networking (the cbr0 bridge, pod subnets, masquerade, \
        hairpin, forward-accept, routes to the other nodes' pod subnets, host ports, pods) into \
        iptables chains and links, addresses and routes.

        Examples:
          podnet validate -f node.yaml
          podnet validate -f node.yaml --nodes nodes.json
          kubectl get nodes -o json | podnet render -f node.yaml --nodes -
          podnet diff -f node.yaml            # dry run: exit 2 when the node differs
          podnet apply -f node.yaml
          podnet teardown

        With CNI_COMMAND set in its environment, podnet is the container runtime's CNI plugin \
        instead (ADD, DEL, CHECK, STATUS, GC, VERSION; the network configuration on stdin, the \
        result or error object on stdout); `podnet allocations` lists what it attached.

        Exit status: 0 success, 2 changes pending (diff), 64 usage error, 65 invalid input, 1 any \
        other failure.
        """,
        version: PodNetVersion.current,
        subcommands: [ValidateCommand.self, RenderCommand.self, DiffCommand.self, ApplyCommand.self, WatchCommand.self, TeardownCommand.self,
                      AllocationsCommand.self]
    )
}

enum PodNetVersion {
    static let current = "0.1.0"
}
