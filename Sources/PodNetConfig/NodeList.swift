import Foundation
import PodNet

/// The parts of `kubectl get nodes -o json` that podnet reads. Everything else
/// (labels, conditions, images, ...) is skipped by the decoder without being built.
struct NodeList: Decodable {
    var items: [Item]

    struct Item: Decodable {
        var metadata: Metadata?
        var spec: Spec?
        var status: Status?
    }

    struct Metadata: Decodable {
        var name: String?
    }

    struct Spec: Decodable {
        var podCIDR: String?
        var podCIDRs: [String]?
    }

    struct Status: Decodable {
        var addresses: [Address]?
    }

    struct Address: Decodable {
        var type: String
        var address: String
    }

    /// The address type that kubenet and flannel route pod traffic to.
    static let routedAddressType = "InternalIP"

    /// Decodes the NodeList, reporting syntax and shape problems with the path of the
    /// offending value (`items[3].spec.podCIDRs`).
    static func decode(_ data: Data, file: String, _ diagnostics: inout Diagnostics) -> NodeList? {
        do {
            return try JSONDecoder().decode(NodeList.self, from: data)
        } catch let error as DecodingError {
            diagnostics.error(Self.location(of: error, file: file), Self.message(for: error))
        } catch {
            diagnostics.error(SourceLocation(file: file, fieldPath: .root), "cannot read the NodeList: \(error)")
        }
        return nil
    }

    private static func location(of error: DecodingError, file: String) -> SourceLocation {
        let codingPath: [any CodingKey]
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            codingPath = context.codingPath
        case .keyNotFound(let key, let context):
            codingPath = context.codingPath + [key]
        @unknown default:
            codingPath = []
        }
        var path = FieldPath.root
        for key in codingPath {
            path = key.intValue.map { path.appending(index: $0) } ?? path.appending(key.stringValue)
        }
        return SourceLocation(file: file, fieldPath: path)
    }

    private static func message(for error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, _):
            return "expected \(describe(type)), got something else"
        case .valueNotFound(let type, _):
            return "expected \(describe(type)), got null"
        case .keyNotFound:
            return "required (is this the output of `kubectl get nodes -o json`?)"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "not valid JSON: \(underlying ?? context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is [Any].Type: return "a list"
        default: return type == [String: Any].self ? "an object" : "a \(type) value"
        }
    }
}

/// A NodeList split into this node's item and its peers.
struct NodeListContents {
    /// This node's pod CIDRs, when the NodeList has an item with this node's name.
    var nodePodCIDRs: LocatedList<IPNetwork>?
    var peers: [PeerEntry] = []

    init(_ list: NodeList, file: String, nodeName: String, _ diagnostics: inout Diagnostics) {
        var seenNode = false
        for (index, item) in list.items.enumerated() {
            let location = SourceLocation(file: file, fieldPath: FieldPath.root.appending("items").appending(index: index))
            guard let name = item.metadata?.name else {
                diagnostics.error(location.appending("metadata").appending("name"), "required")
                continue
            }
            let podCIDRs = Self.podCIDRs(of: item, at: location, &diagnostics)
            if name == nodeName {
                seenNode = true
                if let podCIDRs, !podCIDRs.items.isEmpty || !podCIDRs.isComplete { nodePodCIDRs = podCIDRs }
                else {
                    diagnostics.warning(location, "this node (\(name)) has no pod CIDR in the NodeList")
                }
                continue
            }
            guard let podCIDRs, !podCIDRs.items.isEmpty || !podCIDRs.isComplete else {
                diagnostics.warning(location, "node \(name) has no pod CIDR yet: skipped (no route to its pods)")
                continue
            }
            let nameLocation = location.appending("metadata").appending("name")
            let validName: Located<String>?
            if let problem = NameRules.dnsSubdomainProblem(name) {
                diagnostics.error(nameLocation, problem)
                validName = nil
            } else {
                validName = Located(value: name, location: nameLocation)
            }
            peers.append(PeerEntry(location: location, name: validName,
                                   nodeIPs: Self.nodeIPs(of: item, at: location, &diagnostics), podCIDRs: podCIDRs))
        }
        if !seenNode {
            diagnostics.warning(SourceLocation(file: file, fieldPath: FieldPath.root.appending("items")),
                                "no item is named \(nodeName) (node.name): every item was taken as a peer")
        }
    }

    /// spec.podCIDRs, else the older single spec.podCIDR; nil when the node has neither.
    private static func podCIDRs(of item: NodeList.Item, at location: SourceLocation,
                                 _ diagnostics: inout Diagnostics) -> LocatedList<IPNetwork>? {
        let spec = location.appending("spec")
        let texts: [(String, SourceLocation)]
        if let list = item.spec?.podCIDRs, !list.isEmpty {
            let listLocation = spec.appending("podCIDRs")
            texts = list.enumerated().map { ($1, listLocation.appending(index: $0)) }
        } else if let single = item.spec?.podCIDR, !single.isEmpty {
            texts = [(single, spec.appending("podCIDR"))]
        } else {
            return nil
        }
        var result = LocatedList<IPNetwork>(items: [], location: spec.appending("podCIDRs"), isComplete: true)
        for (text, location) in texts {
            do {
                result.items.append(Located(value: try IPNetwork(parsing: text), location: location))
            } catch {
                diagnostics.error(location, error.description)
                result.isComplete = false
            }
        }
        return result
    }

    /// The first InternalIP of each family: a node may list several, and kubelet
    /// puts the primary one first.
    private static func nodeIPs(of item: NodeList.Item, at location: SourceLocation,
                                _ diagnostics: inout Diagnostics) -> LocatedList<IPAddress> {
        let addressesLocation = location.appending("status").appending("addresses")
        var result = LocatedList<IPAddress>(items: [], location: addressesLocation, isComplete: true)
        var taken = Set<IPFamily>()
        for (index, entry) in (item.status?.addresses ?? []).enumerated() where entry.type == NodeList.routedAddressType {
            let entryLocation = addressesLocation.appending(index: index).appending("address")
            guard let address = IPAddress(entry.address) else {
                diagnostics.error(entryLocation, "\"\(entry.address)\" is not an IP address")
                result.isComplete = false
                continue
            }
            // A node may list several InternalIPs of a family; like kubelet, use the first.
            if taken.insert(address.family).inserted {
                result.items.append(Located(value: address, location: entryLocation))
            }
        }
        return result
    }
}
