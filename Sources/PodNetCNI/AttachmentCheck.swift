import PodNet
import PodNetCompiler
import PodNetDataplane
import PodNetNetlink
import PodNetSystem

/// What CHECK compares: the allocation against prevResult, and the kernel (host end,
/// the container's interface, its default routes, the host-port rules) against the
/// state ADD made. Each difference is one line naming the object.
struct AttachmentCheck {
    let pod: PodAttachment
    let allocation: Allocation
    let desired: DesiredState
    let previous: CNIResult
    let netns: String
    let dataplane: NodeDataplane

    func differences() -> [String] {
        var drift = resultDifferences()
        drift += hostDifferences()
        drift += containerDifferences()
        drift += hostPortDifferences()
        return drift
    }

    private func resultDifferences() -> [String] {
        var drift: [String] = []
        let previousAddresses = previous.ips.map(\.address.address).sorted()
        if previousAddresses != allocation.addresses {
            drift.append("prevResult's addresses \(show(previousAddresses)) are not the allocation's \(show(allocation.addresses))")
        }
        let wantedRoutes = pod.gateways.map { "default via \($0)" }.sorted()
        let previousRoutes = previous.routes.map { route in
            route.destination.prefixLength == 0 ? "default via \(route.gateway.map(\.description) ?? "-")"
                : "\(route.destination) via \(route.gateway.map(\.description) ?? "-")"
        }.sorted()
        if previousRoutes != wantedRoutes {
            drift.append("prevResult's routes \(show(previousRoutes)) are not \(show(wantedRoutes))")
        }
        if let container = previous.interfaces.first(where: { $0.name == pod.podInterface && !$0.sandbox.isEmpty }) {
            if container.sandbox != netns {
                drift.append("prevResult's \(pod.podInterface) is in \(container.sandbox), CNI_NETNS is \(netns)")
            }
            if let mac = container.mac, let wanted = pod.podMACAddress, mac != wanted {
                drift.append("prevResult's \(pod.podInterface) has MAC \(mac), podnet gives it \(wanted)")
            }
        } else {
            drift.append("prevResult has no interface \(pod.podInterface) with a sandbox")
        }
        return drift
    }

    private func hostDifferences() -> [String] {
        do {
            let netlink = try Netlink(namespace: nil)
            guard let host = try netlink.link(named: pod.hostInterface) else {
                return ["the host end \(pod.hostInterface) is missing"]
            }
            var drift: [String] = []
            if PodMarker(alias: host.alias) != PodMarker(pod) {
                drift.append("the host end \(pod.hostInterface) is marked \(host.alias.map { "\"\($0)\"" } ?? "by nothing"), "
                             + "not \"\(PodMarker(pod).alias)\"")
            }
            let bridge = try netlink.link(named: desired.bridge?.name ?? "")
            if bridge == nil || host.masterIndex != bridge?.index {
                drift.append("the host end \(pod.hostInterface) is not a port of \(desired.bridge?.name ?? "the bridge")")
            }
            if !host.isUp { drift.append("the host end \(pod.hostInterface) is down") }
            return drift
        } catch {
            return ["cannot read the host end \(pod.hostInterface): \(error)"]
        }
    }

    private func containerDifferences() -> [String] {
        let observed: PodInterfaceObservation
        do {
            observed = try Netlink.observePodInterface(named: pod.podInterface, in: NetworkNamespace(path: netns))
        } catch {
            return ["cannot read \(pod.podInterface) in \(netns): \(error)"]
        }
        var drift: [String] = []
        let addresses = observed.addresses.map { "\($0.address)/\($0.prefixLength)" }.sorted()
        let wanted = pod.addresses.map { "\($0.address)/\($0.prefixLength)" }.sorted()
        if addresses != wanted {
            drift.append("\(pod.podInterface) in \(netns) has addresses \(show(addresses)), not \(show(wanted))")
        }
        if observed.gateways.sorted() != pod.gateways.sorted() {
            drift.append("\(pod.podInterface) in \(netns) has default routes via \(show(observed.gateways.sorted())), "
                         + "not via \(show(pod.gateways.sorted()))")
        }
        if let wanted = pod.podMACAddress, observed.link.macAddress != wanted {
            drift.append("\(pod.podInterface) in \(netns) has MAC \(observed.link.macAddress.map(\.description) ?? "none"), not \(wanted)")
        }
        if !observed.link.isUp { drift.append("\(pod.podInterface) in \(netns) is down") }
        return drift
    }

    /// Each mapping's own chain whole, and the dispatch rule that leads to it.
    private func hostPortDifferences() -> [String] {
        let mappings = allocation.hostPortMappings
        guard !mappings.isEmpty else { return [] }
        var drift: [String] = []
        let observer = NodeObserver(namespace: nil, iptables: dataplane.iptables)
        for family in Set(mappings.map(\.family)).sorted() {
            let id = TableID(family, .nat)
            let observed: ObservedTable
            do {
                observed = try observer.observeTable(id, wanted: true) ?? ObservedTable(id: id)
            } catch {
                drift.append("cannot read the \(id) table: \(error)")
                continue
            }
            let wanted = desired.table(id)
            for mapping in mappings where mapping.family == family {
                let name = Compiler.hostPortChainName(for: mapping)
                let label = "host port \(mapping.transport.rawValue)/\(mapping.hostPort) (\(family.rawValue))"
                guard let chain = observed.chain(name) else {
                    drift.append("\(label): chain \(name) is missing from \(id)")
                    continue
                }
                if chain.rules != wanted?.chains.first(where: { $0.name == name })?.rules {
                    drift.append("\(label): chain \(name) holds other rules than podnet's")
                }
                let dispatch = wanted?.chains.first(where: { $0.name == ChainName.hostPorts })?.rules.filter { $0.target == .jump(name) } ?? []
                let found = observed.chain(ChainName.hostPorts)?.rules ?? []
                if !dispatch.allSatisfy(found.contains) {
                    drift.append("\(label): the rule leading to \(name) is missing from \(ChainName.hostPorts)")
                }
            }
        }
        return drift
    }

    private func show<Value: CustomStringConvertible>(_ values: [Value]) -> String {
        "[" + values.map(\.description).joined(separator: ", ") + "]"
    }
}
