import PodNet
import PodNetNetlink

/// podnet's bridges (by their marker) under a name other than the configured one:
/// after a change of `bridge.name`, the old bridge still holds the pod CIDR's gateway
/// addresses (and with them a second connected route to the pods) and its
/// route_localnet. Its pods are attached to the new bridge in the same run (they are
/// not ports of it), and then it goes, taking its addresses, routes and sysctls along.
/// One that still has other ports (links podnet did not attach) stays, without its
/// addresses (the new bridge has them) and with its route_localnet closed: the host
/// port guard rules are written for the configured bridge only.
extension NodeDataplane {
    /// podnet's bridges other than `bridgeName` (none without one).
    func retiredBridges(bridgeName: String?) throws(DataplaneError) -> [String] {
        guard let bridgeName else { return [] }
        return try observer.ownedBridgeNames().filter { $0 != bridgeName }
    }

    /// Plans the end of each of the `retired` bridges.
    func retiringBridges(_ retired: [String], into plan: inout Plan) throws(DataplaneError) {
        guard !retired.isEmpty else { return }
        let netlink = try observer.session()
        let leaving = Set(plan.pods.compactMap { operation -> String? in
            if case .detach(let pod) = operation { return pod.hostInterface }
            return nil
        })
        for name in retired {
            let bridge: Link?, ports: [Link], addresses: [InterfaceAddress]
            do {
                bridge = try netlink.ownedBridge(named: name)
            } catch {
                throw .netlinkOperation(error)
            }
            guard let bridge else { continue }
            do {
                ports = try netlink.bridgePorts(of: bridge)
                addresses = try netlink.bridgeAddresses(of: bridge)
            } catch {
                throw .netlink(error, while: "reading the ports and addresses of podnet's bridge \(name)")
            }
            if ports.allSatisfy({ leaving.contains($0.name) }) {
                plan.links.append(.deleteBridge(name: name))
            } else {
                plan.sysctls += try observer.openBridgeSysctls(of: name)
                plan.addresses += addresses.map(AddressOperation.delete)
            }
        }
    }
}
