import ArgumentParser
import PodNet
import PodNetConfig
import PodNetDataplane

struct TeardownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown",
        abstract: "Remove everything podnet owns on the node; works without the config.",
        discussion: """
        Finds podnet's things by their marks: its PODNET- chains and the podnet: jumps to them \
        (both families), its routes (by route protocol) and then its nexthop objects (the same \
        protocol), its pods' host ends and the bridge it created (with its addresses, and its \
        route_localnet turned off before the guard rule goes), and the CNI allocations under \
        --data-dir. Foreign rules, routes, nexthops and links are never touched; global sysctls \
        (forwarding, bridge-nf-call) stay as they are. A second teardown does nothing.

        Without -f, podnet's routes are found by --route-protocol (default 111) in --route-table \
        (default 254, main): give the routeProtocol and routeTable the config had. Every bridge \
        carrying podnet's marker is removed.

        Examples:
          podnet teardown
          podnet teardown -f node.yaml --netns node-a
          podnet teardown --route-protocol 80 --route-table 100 --dry-run
        """
    )

    @Option(name: [.customShort("f"), .customLong("config")],
            help: ArgumentHelp("The node config (for its bridge name, route protocol and table).", valueName: "file"))
    var configPath: String?

    @Option(help: ArgumentHelp("The route protocol of podnet's routes, without -f.", valueName: "number"))
    var routeProtocol: UInt8 = NodeConfig.defaultRouteProtocol

    @Option(help: ArgumentHelp("The routing table of podnet's routes, without -f (254 is main).",
                               valueName: "number"))
    var routeTable: UInt32 = NodeConfig.mainRouteTable

    @OptionGroup var node: NodeOptions
    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Only show what would be removed (exit 2 when there is something).")
    var dryRun = false

    func validate() throws {
        // As for the config's routeTable: 0 is "unspecified", 255 the kernel's local table.
        guard routeTable != 0, routeTable != 255 else {
            throw ValidationError("--route-table \(routeTable) cannot hold podnet's routes (0 is unspecified, 255 the kernel's local table)")
        }
    }

    func run() throws {
        var ownership = Ownership(bridgeName: nil, routeProtocol: routeProtocol, routeTable: routeTable)
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
        // The runtime's attachments went with the pods' host ends: their allocations go
        // too, once the kernel's part is gone (a failed teardown keeps them).
        let result = try storeOptions.locked {
            let result = try failing { try dataplane.teardown(ownership: ownership) }
            try storeOptions.releaseAll()
            return result
        }
        try report(result, node, bridge: nil)
    }
}
