import PodNet
import PodNetNetlink
import PodNetSystem

/// What lets a CNI request skip the node-level work: podnet last made (or checked)
/// the node-level state whole (bridge, its addresses, sysctls and tables, as
/// `stateDigest` sums what the node config decides of them; NetworkPolicy's chains and
/// sets are the cluster List's, kept by the runs that read it) in this boot, in this
/// network namespace, with this bridge.
///
/// A reboot wipes every namespace (a new boot id); a namespace made anew is another
/// one (its cookie is never reused within a boot, unlike its inode); a bridge deleted
/// and made again (by hand, or a teardown) gets another interface index. Any of these,
/// or a config that now wants other node-level state, sends the request through the
/// full (observing) path. What none of them sees, a rule or address removed by hand
/// with the bridge left in place, is `podnet apply`'s to repair, as for peers' routes.
public struct NodeStamp: Sendable, Hashable {
    public var bootID: String
    public var namespaceCookie: UInt64
    public var bridgeIndex: Int32
    public var stateDigest: String

    public init(bootID: String, namespaceCookie: UInt64, bridgeIndex: Int32, stateDigest: String) {
        self.bootID = bootID
        self.namespaceCookie = namespaceCookie
        self.bridgeIndex = bridgeIndex
        self.stateDigest = stateDigest
    }

    /// The record's text: one `key value` line each, in this order.
    public var text: String {
        "boot \(bootID)\nnetns \(namespaceCookie)\nbridge \(bridgeIndex)\nstate \(stateDigest)\n"
    }

    /// Reads `text`; nil when it is not a whole record (then nothing is known of the node).
    public init?(text: String) {
        let lines = text.split(separator: "\n")
        func value(_ index: Int, _ key: String) -> Substring? {
            guard index < lines.count, lines[index].hasPrefix(key + " ") else { return nil }
            return lines[index].dropFirst(key.count + 1)
        }
        guard let boot = value(0, "boot"), let cookie = value(1, "netns").flatMap({ UInt64($0) }),
              let bridge = value(2, "bridge").flatMap({ Int32($0) }), let state = value(3, "state") else { return nil }
        self.init(bootID: String(boot), namespaceCookie: cookie, bridgeIndex: bridge, stateDigest: String(state))
    }

    /// The node-level part of `desired` that the node config decides: everything but
    /// pods, routes and nexthops (a CNI request attaches its own pod; peers' routes are
    /// `podnet apply --nodes`'), and but NetworkPolicy's chains, the jump to them and its
    /// sets, which the cluster's List decides: a CNI request reads no List (that would
    /// cost a pod's start the List's read and compile), so it compares what it can
    /// compile, and the runs that read the List (apply, watch) keep the policy state;
    /// a request leaves it as it finds it, but for its pods' entries in the two sets
    /// that check pods' source addresses (`PodSourceCheck`). Written out field by field:
    /// every ADD computes it, and reflection is slow.
    public static func stateDigest(_ desired: DesiredState) -> String {
        var lines = [TableState.digest(desired.tables.map(\.withoutPolicy))]
        if let bridge = desired.bridge {
            lines.append("bridge \(bridge.name) mtu \(bridge.mtu) address \(bridge.macAddress) "
                         + "promisc \(bridge.promiscuous) hairpin \(bridge.hairpinPorts)")
        }
        lines += desired.addresses.map { "address \($0.interface) \($0.address)/\($0.prefixLength)" }
        lines += desired.sysctls.map { "sysctl \($0.key) \($0.value)" }
        return FNV1a.hexDigest(lines.joined(separator: "\n"))
    }

    static let bootIDPath = "/proc/sys/kernel/random/boot_id"
}

extension NodeDataplane {
    /// The stamp the node earns now for `desired`: the boot, the namespace and podnet's
    /// bridge as the kernel reports them; nil when there is no bridge of podnet's.
    public func stamp(for desired: DesiredState, bridgeName: String) throws(DataplaneError) -> NodeStamp? {
        try currentBridge(bridgeName).map { facts in
            NodeStamp(bootID: facts.bootID, namespaceCookie: facts.cookie, bridgeIndex: facts.bridge.index,
                      stateDigest: NodeStamp.stateDigest(desired))
        }
    }

    /// podnet's bridge when the node is as `recorded` says and `desired` wants no other
    /// node-level state; nil otherwise.
    func preparedBridge(_ recorded: NodeStamp, desired: DesiredState, bridgeName: String) throws(DataplaneError) -> Link? {
        guard recorded.stateDigest == NodeStamp.stateDigest(desired), let facts = try currentBridge(bridgeName),
              facts.bootID == recorded.bootID, facts.cookie == recorded.namespaceCookie,
              facts.bridge.index == recorded.bridgeIndex else { return nil }
        return facts.bridge
    }

    private func currentBridge(_ name: String) throws(DataplaneError) -> (bootID: String, cookie: UInt64, bridge: Link)? {
        let bootID: String
        switch InputFile.read(path: NodeStamp.bootIDPath) {
        case .success(let bytes): bootID = String(decoding: bytes.filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        case .failure(let failure): throw .sysctl(.read(path: NodeStamp.bootIDPath, errno: failure.errno))
        }
        let socket: NetlinkSocket
        do {
            socket = try NetlinkSocket(namespace: namespace)
        } catch {
            throw .netlink(error, while: "identifying the network namespace")
        }
        // Kernels before 5.14 have no SO_NETNS_COOKIE: without a namespace podnet can
        // tell from a later one there is no stamp, and every request reads the node.
        guard let cookie = try? socket.namespaceCookie() else { return nil }
        let bridge: Link?
        do {
            bridge = try Netlink(transport: socket, namespace: namespace).ownedBridge(named: name)
        } catch .notABridge, .bridgeNotOwned {
            return nil
        } catch {
            throw .netlinkOperation(error)
        }
        return bridge.map { (bootID, cookie, $0) }
    }
}
