#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMNL
import PodNet

/// A network interface as the kernel reports it (`ip -d link show`).
public struct Link: Sendable, Hashable {
    public var index: Int32
    public var name: String
    /// IFLA_INFO_KIND: "bridge", "veth", ...; nil for a link without one (lo).
    public var kind: String?
    public var mtu: Int
    public var macAddress: MACAddress?
    /// The interface alias (IFLA_IFALIAS): podnet's ownership marker.
    public var alias: String?
    public var isUp: Bool
    public var isPromiscuous: Bool
    public var isLoopback: Bool
    /// The bridge (or other master) this link is a port of.
    public var masterIndex: Int32?
    /// The hairpin flag (IFLA_BRPORT_MODE) when the link is a bridge port.
    public var hairpin: Bool?
}

/// Changes to an existing link; nil fields are left as they are.
/// `ip link set dev NAME [name NEW] [mtu N] [address MAC] [alias TEXT] [master BR] [up|down] [promisc on|off]`.
/// The kernel applies one message's changes in a fixed order (do_setlink): the new
/// name before the alias, the master and the flags, so a link can be renamed (which
/// it must be while down), marked, enslaved and brought up by one message.
public struct LinkChanges: Sendable, Hashable {
    public var name: String?
    public var mtu: Int?
    public var macAddress: MACAddress?
    public var alias: String?
    public var masterIndex: Int32?
    public var up: Bool?
    public var promiscuous: Bool?

    public init(name: String? = nil, mtu: Int? = nil, macAddress: MACAddress? = nil, alias: String? = nil,
                masterIndex: Int32? = nil, up: Bool? = nil, promiscuous: Bool? = nil) {
        self.name = name
        self.mtu = mtu
        self.macAddress = macAddress
        self.alias = alias
        self.masterIndex = masterIndex
        self.up = up
        self.promiscuous = promiscuous
    }

    public var isEmpty: Bool { self == LinkChanges() }
}

/// The link messages, as pure functions of their values.
enum LinkMessages {
    static let interfaceUp = UInt32(IFF_UP)
    static let interfacePromiscuous = UInt32(IFF_PROMISC)
    static let interfaceLoopback = UInt32(IFF_LOOPBACK)

    private static func header(index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) -> ifinfomsg {
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_UNSPEC)
        header.ifi_index = index
        header.ifi_flags = flags
        header.ifi_change = change
        return header
    }

    /// `ip link add NAME mtu N address MAC type bridge`. The kernel ignores an
    /// alias on creation, so the ownership marker follows in a `set` (with the final
    /// name: see `UnfinishedLink`).
    static func createBridge(name: String, mtu: Int, macAddress: MACAddress) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_NEWLINK), flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL) { writer in
            writer.putHeader(header())
            writer.put(Int32(IFLA_IFNAME), string: name)
            writer.put(Int32(IFLA_MTU), u32: UInt32(mtu))
            writer.put(Int32(IFLA_ADDRESS), bytes: macAddress.bytes)
            writer.nest(Int32(IFLA_LINKINFO)) {
                writer.put(Int32(IFLA_INFO_KIND), string: "bridge")
            }
        }
    }

    /// `ip link add HOST mtu N type veth peer name PEER mtu N netns POD`: one
    /// message creating both ends, the peer directly in the pod's namespace
    /// (VETH_INFO_PEER: an ifinfomsg, then the peer's attributes).
    static func createVeth(name: String, peerName: String, mtu: Int, peerNamespaceFD: Int32,
                           peerMACAddress: MACAddress? = nil) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_NEWLINK), flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL) { writer in
            writer.putHeader(header())
            writer.put(Int32(IFLA_IFNAME), string: name)
            writer.put(Int32(IFLA_MTU), u32: UInt32(mtu))
            writer.nest(Int32(IFLA_LINKINFO)) {
                writer.put(Int32(IFLA_INFO_KIND), string: "veth")
                writer.nest(Int32(IFLA_INFO_DATA)) {
                    writer.nest(Int32(VETH_INFO_PEER)) {
                        writer.putHeader(header())
                        writer.put(Int32(IFLA_IFNAME), string: peerName)
                        writer.put(Int32(IFLA_MTU), u32: UInt32(mtu))
                        if let peerMACAddress { writer.put(Int32(IFLA_ADDRESS), bytes: peerMACAddress.bytes) }
                        writer.put(Int32(IFLA_NET_NS_FD), u32: UInt32(bitPattern: peerNamespaceFD))
                    }
                }
            }
        }
    }

    /// `ip link set dev INDEX ...` (see `LinkChanges`).
    static func set(index: Int32, _ changes: LinkChanges) -> NetlinkMessage {
        var flags: UInt32 = 0, change: UInt32 = 0
        if let up = changes.up {
            change |= interfaceUp
            if up { flags |= interfaceUp }
        }
        if let promiscuous = changes.promiscuous {
            change |= interfacePromiscuous
            if promiscuous { flags |= interfacePromiscuous }
        }
        return MessageWriter.message(type: Int32(RTM_NEWLINK), flags: NLM_F_ACK) { writer in
            writer.putHeader(header(index: index, flags: flags, change: change))
            if let name = changes.name { writer.put(Int32(IFLA_IFNAME), string: name) }
            if let mtu = changes.mtu { writer.put(Int32(IFLA_MTU), u32: UInt32(mtu)) }
            if let mac = changes.macAddress { writer.put(Int32(IFLA_ADDRESS), bytes: mac.bytes) }
            if let alias = changes.alias { writer.put(Int32(IFLA_IFALIAS), string: alias) }
            if let master = changes.masterIndex { writer.put(Int32(IFLA_MASTER), u32: UInt32(bitPattern: master)) }
        }
    }

    /// `ip link set dev INDEX type bridge_slave hairpin on|off`.
    static func setHairpin(index: Int32, _ on: Bool) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_NEWLINK), flags: NLM_F_ACK) { writer in
            writer.putHeader(header(index: index))
            writer.nest(Int32(IFLA_LINKINFO)) {
                writer.put(Int32(IFLA_INFO_KIND), string: "bridge_slave")
                writer.nest(Int32(IFLA_INFO_SLAVE_DATA)) {
                    writer.put(Int32(IFLA_BRPORT_MODE), u8: on ? 1 : 0)
                }
            }
        }
    }

    /// `ip link del dev INDEX`.
    static func delete(index: Int32) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_DELLINK), flags: NLM_F_ACK) { writer in
            writer.putHeader(header(index: index))
        }
    }

    /// `ip link show dev NAME`.
    static func get(name: String) -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_GETLINK), flags: 0) { writer in
            writer.putHeader(header())
            writer.put(Int32(IFLA_IFNAME), string: name)
        }
    }

    /// `ip link show`.
    static func dump() -> NetlinkMessage {
        MessageWriter.message(type: Int32(RTM_GETLINK), flags: NLM_F_DUMP) { writer in
            writer.putHeader(header())
        }
    }

    static func parse(_ message: NetlinkMessage) throws(NetlinkError) -> Link? {
        guard message.type == UInt16(RTM_NEWLINK) else { return nil }
        let size = MemoryLayout<ifinfomsg>.size
        guard message.payload.count >= size else { throw .malformed("RTM_NEWLINK shorter than ifinfomsg") }
        let header = message.payload.withUnsafeBytes { $0.loadUnaligned(as: ifinfomsg.self) }
        let attributes = try NetlinkAttributes(message.payload.dropFirst(size))
        guard let name = attributes.string(UInt16(IFLA_IFNAME)) else { throw .malformed("link without IFLA_IFNAME") }
        let info = try attributes.nested(UInt16(IFLA_LINKINFO))
        let portData = try info?.nested(UInt16(IFLA_INFO_SLAVE_DATA))
        let isBridgePort = info?.string(UInt16(IFLA_INFO_SLAVE_KIND)) == "bridge"
        let alias = attributes.string(UInt16(IFLA_IFALIAS))
        return Link(
            index: header.ifi_index,
            name: name,
            kind: info?.string(UInt16(IFLA_INFO_KIND)),
            mtu: Int(attributes.u32(UInt16(IFLA_MTU)) ?? 0),
            macAddress: attributes.macAddress(UInt16(IFLA_ADDRESS)),
            alias: alias?.isEmpty == true ? nil : alias,
            isUp: header.ifi_flags & interfaceUp != 0,
            isPromiscuous: header.ifi_flags & interfacePromiscuous != 0,
            isLoopback: header.ifi_flags & interfaceLoopback != 0,
            masterIndex: attributes.u32(UInt16(IFLA_MASTER)).map { Int32(bitPattern: $0) },
            hairpin: isBridgePort ? portData?.u8(UInt16(IFLA_BRPORT_MODE)).map { $0 != 0 } : nil)
    }
}

extension Netlink {
    /// `ip -d link show`.
    public func links() throws(NetlinkError) -> [Link] {
        var links: [Link] = []
        for message in try dump(LinkMessages.dump()) {
            if let link = try LinkMessages.parse(message) { links.append(link) }
        }
        return links
    }

    /// `ip -d link show dev NAME`; nil when there is no such link.
    public func link(named name: String) throws(NetlinkError) -> Link? {
        do {
            return try LinkMessages.parse(try fetch(LinkMessages.get(name: name)))
        } catch .kernel(_, _, let reason) where reason.errno == ENODEV {
            return nil
        }
    }

    /// `ip link del dev NAME` (the link is found by its index, whatever its name is now).
    func deleteLink(_ link: Link) throws(NetlinkOperationError) {
        try attempt("ip link del dev \(link.name)") { () throws(NetlinkError) in
            try perform(LinkMessages.delete(index: link.index))
        }
    }

    /// `ip link set dev NAME ...`.
    public func setLink(_ link: Link, _ changes: LinkChanges) throws(NetlinkOperationError) {
        guard !changes.isEmpty else { return }
        try attempt("ip link set dev \(link.name) \(changes.ipArguments)") { () throws(NetlinkError) in
            try perform(LinkMessages.set(index: link.index, changes))
        }
    }

    /// `ip link set dev PORT type bridge_slave hairpin on|off`.
    public func setHairpin(_ on: Bool, port: Link) throws(NetlinkOperationError) {
        try attempt("ip link set dev \(port.name) type bridge_slave hairpin \(on ? "on" : "off")") { () throws(NetlinkError) in
            try perform(LinkMessages.setHairpin(index: port.index, on))
        }
    }

    /// Runs `body`, naming the failed operation by its `ip` command.
    func attempt<T>(_ command: String, _ body: () throws(NetlinkError) -> T) throws(NetlinkOperationError) -> T {
        do {
            return try body()
        } catch {
            throw .failed(command: command, namespace: namespace, error)
        }
    }
}

extension LinkChanges {
    /// The arguments `ip link set` would take for these changes.
    var ipArguments: String {
        var words: [String] = []
        if let name { words.append("name \(name)") }
        if let mtu { words.append("mtu \(mtu)") }
        if let macAddress { words.append("address \(macAddress)") }
        if let alias { words.append("alias \"\(alias)\"") }
        if let masterIndex { words.append("master \(masterIndex)") }
        if let up { words.append(up ? "up" : "down") }
        if let promiscuous { words.append("promisc \(promiscuous ? "on" : "off")") }
        return words.joined(separator: " ")
    }
}
