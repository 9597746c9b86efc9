import ArgumentParser
import PodNet
import PodNetConfig
import PodNetDataplane

struct TeardownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown",
        abstract: "Remove everything podnet owns on the node; works without the config.",
        discussion: """
        Finds podnet's things by their marks: its PODNET- chains and the podnet: jumps to
        them (both families), its routes (by route protocol), its pods' host ends and the
        bridge it created (with its addresses). Foreign rules, routes and links are never
        touched; sysctls stay as they are. A second teardown does nothing.

        Without -f, podnet's default route protocol (111) and the main table are used and
        every bridge carrying podnet's marker is removed.

        Examples:
          podnet teardown
          podnet teardown -f node.yaml --netns node-a
          podnet teardown --route-protocol 80 --dry-run
        """
    )

    @Option(name: [.customShort("f"), .customLong("config")],
            help: ArgumentHelp("The node config (for its bridge name, route protocol and table).", valueName: "file"))
    var configPath: String?

    @Option(help: ArgumentHelp("The route protocol of podnet's routes, without -f.", valueName: "number"))
    var routeProtocol: UInt8 = NodeConfig.defaultRouteProtocol

    @OptionGroup var node: NodeOptions

    @Flag(help: "Only show what would be removed (exit 2 when there is something).")
    var dryRun = false

    func run() throws {
        var ownership = Ownership(bridgeName: nil, routeProtocol: routeProtocol)
        if let configPath {
            ownership = Ownership(try InputOptions(configPath: configPath).load())
        }
        let dataplane = node.dataplane()
        if dryRun {
            let plan = try failing { try dataplane.teardownPlan(ownership: ownership) }
            node.print(plan, bridge: nil)
            if !plan.isEmpty { throw ExitStatus.changesPending }
            return
        }
        let result = try failing { try dataplane.teardown(ownership: ownership) }
        try report(result, node, bridge: nil)
    }
}
