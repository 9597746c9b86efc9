import ArgumentParser
import PodNetCNI

struct AllocationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allocations",
        abstract: "List the attachments podnet made as the runtime's CNI plugin.",
        discussion: """
        One line per attachment: the container ID and interface, its addresses, its host ports and \
        its network namespace, from the allocation store (the conflist's dataDir).

        Examples:
          podnet allocations
          podnet allocations --data-dir /var/lib/podnet
        """
    )

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        for allocation in try storeOptions.allocations() {
            let ports = allocation.portMappings.map { mapping in
                (mapping.hostIP.map { "\($0):" } ?? "") + "\(mapping.hostPort)->\(mapping.containerPort)/\(mapping.transport.rawValue)"
            }
            print([allocation.id.containerID, allocation.id.ifname,
                   allocation.addresses.map(\.description).joined(separator: ","),
                   ports.isEmpty ? "-" : ports.joined(separator: ","), allocation.netns].joined(separator: " "))
        }
    }
}
