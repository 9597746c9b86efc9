import PodNet

/// A NodeList split into this node's item and its peers, with their values parsed.
struct NodeListContents {
    /// This node's pod CIDRs, when the NodeList has an item with this node's name
    /// and a pod CIDR.
    var nodePodCIDRs: LocatedList<IPNetwork>?
    var peers: [PeerEntry] = []

    init(_ list: NodeList, nodeName: String, file: String, _ diagnostics: inout Diagnostics) {
        var seenNode = false
        for item in list.items {
            guard let name = item.name else {
                diagnostics.error(item.location.appending("metadata", keepingPosition: true)
                    .appending("name", keepingPosition: true), "required")
                continue
            }
            let podCIDRs = Self.podCIDRs(of: item, &diagnostics)
            if name.value == nodeName {
                seenNode = true
                if podCIDRs == nil {
                    diagnostics.warning(item.location, "this node (\(name.value)) has no pod CIDR in the NodeList")
                }
                nodePodCIDRs = podCIDRs
                continue
            }
            guard let podCIDRs else {
                diagnostics.warning(item.location, "node \(name.value) has no pod CIDR yet: skipped (no route to its pods)")
                continue
            }
            let validName: Located<String>?
            if let problem = NameRules.dnsSubdomainProblem(name.value) {
                diagnostics.error(name.location, problem)
                validName = nil
            } else {
                validName = name
            }
            peers.append(PeerEntry(nodeListItem: item.location, name: validName,
                                   nodeIPs: Self.nodeIPs(of: item, &diagnostics), podCIDRs: podCIDRs))
        }
        if !seenNode {
            diagnostics.warning(SourceLocation(file: file, fieldPath: FieldPath.root.appending("items")),
                                "no item is named \(nodeName) (node.name): every item was taken as a peer")
        }
    }

    /// spec.podCIDRs, else the older single spec.podCIDR; nil when the node has neither.
    private static func podCIDRs(of item: NodeList.Item, _ diagnostics: inout Diagnostics) -> LocatedList<IPNetwork>? {
        let texts = item.podCIDRs.isEmpty ? item.podCIDR.map { [$0] } ?? [] : item.podCIDRs
        guard !texts.isEmpty else { return nil }
        var result = LocatedList<IPNetwork>(
            items: [], location: item.location.appending("spec", keepingPosition: true).appending("podCIDRs", keepingPosition: true),
            isComplete: true)
        for text in texts {
            do {
                result.items.append(Located(value: try IPNetwork(parsing: text.value), location: text.location))
            } catch {
                diagnostics.error(text.location, error.description)
                result.isComplete = false
            }
        }
        return result
    }

    /// The first InternalIP of each family: a node may list several, and kubelet
    /// puts the primary one first.
    private static func nodeIPs(of item: NodeList.Item, _ diagnostics: inout Diagnostics) -> LocatedList<IPAddress> {
        var result = LocatedList<IPAddress>(
            items: [], location: item.location.appending("status", keepingPosition: true).appending("addresses", keepingPosition: true),
            isComplete: true)
        var taken = Set<IPFamily>()
        for entry in item.addresses where entry.type == NodeList.routedAddressType {
            guard let text = entry.address else { continue }
            guard let address = IPAddress(text.value) else {
                diagnostics.error(text.location, "\"\(text.value)\" is not an IP address")
                result.isComplete = false
                continue
            }
            if taken.insert(address.family).inserted {
                result.items.append(Located(value: address, location: text.location))
            }
        }
        return result
    }
}

/// What `--nodes` contributed to a load.
enum NodeListInput {
    /// No NodeList was given.
    case absent
    /// A NodeList was given but could not be used (its problems, or the config's
    /// node name's, are reported): the checks that depend on it are skipped.
    case unusable
    case read(NodeListContents)

    var contents: NodeListContents? {
        if case .read(let contents) = self { return contents }
        return nil
    }
}
