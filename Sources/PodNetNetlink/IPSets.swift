#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMNL
import PodNet
import PodNetSystem

/// The ipsets of one network namespace, over the ip_set protocol (NETLINK_NETFILTER,
/// subsystem NFNL_SUBSYS_IPSET), the same messages the `ipset` tool sends.
///
/// Not thread-safe and not Sendable, like `Netlink`.
public final class IPSets {
    let session: Netlink
    /// The newest revision of each set type the kernel has, asked once per session
    /// (a create must name one the kernel knows).
    private var revisions: [String: UInt8] = [:]

    public var namespace: NetworkNamespace? { session.namespace }

    /// Over `session`, a NETLINK_NETFILTER session.
    public init(session: Netlink) {
        self.session = session
    }

    /// The sets of `namespace`, through a new NETLINK_NETFILTER socket opened there.
    public convenience init(namespace: NetworkNamespace? = nil) throws(NetlinkError) {
        self.init(session: Netlink(transport: try Self.socket(in: namespace), namespace: namespace))
    }

    /// A NETLINK_NETFILTER socket in `namespace`, the kind a session of `IPSets` speaks over.
    public static func socket(in namespace: NetworkNamespace?) throws(NetlinkError) -> NetlinkSocket {
        try NetlinkSocket(namespace: namespace, protocol: NETLINK_NETFILTER)
    }

    /// `ipset list`: every set of the namespace with its members (podnet's and others';
    /// callers keep those they own).
    public func list() throws(NetlinkOperationError) -> [IPSetState] {
        try listing().sets
    }

    /// The sets and the kernel's index of each (what a rule matching a set holds), from one dump.
    public func listing() throws(NetlinkOperationError) -> (sets: [IPSetState], indexes: IPSetIndexes) {
        try session.attempt("ipset list") { () throws(NetlinkError) in
            let messages = try session.dump(IPSetMessages.list())
            return (try IPSetMessages.sets(from: messages), try IPSetMessages.indexes(from: messages))
        }
    }

    /// The kernel's index of every set, from `ipset list -t` (the headers, no members).
    public func indexes() throws(NetlinkOperationError) -> IPSetIndexes {
        try session.attempt("ipset list -t") { () throws(NetlinkError) in
            try IPSetMessages.indexes(from: try session.dump(IPSetMessages.list(headersOnly: true)))
        }
    }

    /// Whether the namespace has a set of this name (IPSET_CMD_HEADER, as `ipset list -t
    /// NAME` asks; the kernel answers ENOENT for a name it does not have). One message,
    /// not a dump of every set: a CNI ADD asks it of the one set its pod joins.
    public func contains(_ name: String) throws(NetlinkOperationError) -> Bool {
        try session.attempt("ipset list -t \(name)") { () throws(NetlinkError) in
            do throws(NetlinkError) {
                _ = try session.fetch(IPSetMessages.header(name))
                return true
            } catch {
                if case .kernel(_, _, let reason) = error, reason.errno == ENOENT { return false }
                throw error
            }
        }
    }

    /// `ipset create NAME TYPE family F` at the newest revision of TYPE the kernel has.
    public func create(_ set: IPSetState) throws(NetlinkOperationError) {
        try session.attempt(set.createCommand) { () throws(NetlinkError) in
            let revision = try revision(of: set.type, family: set.family)
            try IPSetMessages.refusal { () throws(NetlinkError) in try session.perform(IPSetMessages.create(set, revision: revision)) }
        }
    }

    /// `ipset destroy NAME`: refused (IPSET_ERR_BUSY) while a rule matches the set.
    public func destroy(_ name: String) throws(NetlinkOperationError) {
        try session.attempt("ipset destroy \(name)") { () throws(NetlinkError) in
            try IPSetMessages.refusal { () throws(NetlinkError) in try session.perform(IPSetMessages.destroy(name)) }
        }
    }

    /// `ipset swap FIRST SECOND`.
    public func swap(_ first: String, _ second: String) throws(NetlinkOperationError) {
        try session.attempt("ipset swap \(first) \(second)") { () throws(NetlinkError) in
            try IPSetMessages.refusal { () throws(NetlinkError) in try session.perform(IPSetMessages.swap(first, second)) }
        }
    }

    /// `ipset add SET ENTRY` for each entry, as `ipset restore` sends them (many to a
    /// message, the messages in one batch); the first refusal throws (the entries
    /// before it are in the set). `ifAbsent` (`ipset -exist add`): an entry already
    /// there is no error.
    public func add(_ entries: [IPSetEntry], to set: String, ifAbsent: Bool = false) throws(NetlinkOperationError) {
        try members(entries, set, .add, tolerant: ifAbsent)
    }

    /// `ipset del SET ENTRY` for each entry, likewise. `ifPresent` (`ipset -exist
    /// del`): an entry not there is no error.
    public func delete(_ entries: [IPSetEntry], from set: String, ifPresent: Bool = false) throws(NetlinkOperationError) {
        try members(entries, set, .delete, tolerant: ifPresent)
    }

    private func members(_ entries: [IPSetEntry], _ set: String, _ change: IPSetMessages.MemberChange,
                         tolerant: Bool) throws(NetlinkOperationError) {
        guard !entries.isEmpty else { return }
        let text = "ipset \(tolerant ? "-exist " : "")\(change == .add ? "add" : "del") \(set) "
            + (entries.count == 1 ? entries[0].description : "(\(entries.count) entries)")
        try session.attempt(text) { () throws(NetlinkError) in
            let per = IPSetMessages.entriesPerMessage
            let messages = stride(from: 0, to: entries.count, by: per).map { start in
                IPSetMessages.members(change, set, entries[start..<min(start + per, entries.count)],
                                      firstLine: UInt32(1 + start), exclusive: !tolerant)
            }
            for (index, acknowledgement) in try session.batch(messages).enumerated() {
                switch acknowledgement {
                case .applied: continue
                case .refused(let reason):
                    throw .kernel(type: messages[index].type, sequence: 0, reason: IPSetMessages.explained(reason))
                case .lost: throw .repliesLost
                }
            }
        }
    }

    private func revision(of type: IPSetType, family: IPFamily) throws(NetlinkError) -> UInt8 {
        if let known = revisions[type.rawValue] { return known }
        let reply = try session.fetch(IPSetMessages.typeQuery(type, family: family))
        guard let (_, attributes) = try Nfnetlink.body(of: reply, .ipset, UInt32(IPSET_CMD_TYPE.rawValue)),
              let revision = attributes.u8(UInt16(IPSET_ATTR_REVISION)) else {
            throw .malformed("ipset type reply without a revision")
        }
        revisions[type.rawValue] = revision
        return revision
    }
}

/// The ip_set messages, as pure functions of their values, byte for byte what
/// `ipset` 7.17 sends (checked under strace): every request carries
/// IPSET_ATTR_PROTOCOL and an AF_INET nfgenmsg (the set's own family travels in
/// IPSET_ATTR_FAMILY); an entry is IPSET_ATTR_DATA holding the address (nested,
/// network order), its prefix unless it is a host, its flags when it has any, and
/// its line number.
enum IPSetMessages {
    static let protocolVersion = UInt8(IPSET_PROTOCOL)
    private static let netByteOrder = Int32(NLA_F_NET_BYTEORDER)

    static func type(_ command: ipset_cmd) -> UInt16 { Nfnetlink.type(.ipset, command.rawValue) }

    private static func request(_ command: ipset_cmd, flags: Int32,
                                _ fill: (MessageWriter) -> Void = { _ in }) -> NetlinkMessage {
        Nfnetlink.message(.ipset, command.rawValue, flags: flags, family: UInt8(AF_INET)) { writer in
            writer.put(Int32(IPSET_ATTR_PROTOCOL), u8: protocolVersion)
            fill(writer)
        }
    }

    /// `ipset list`: a dump of every set, headers and members; `headersOnly` (`ipset
    /// list -t`, IPSET_FLAG_LIST_HEADER): name, type, family and index, no members.
    static func list(headersOnly: Bool = false) -> NetlinkMessage {
        request(IPSET_CMD_LIST, flags: NLM_F_ACK | NLM_F_DUMP) { writer in
            if headersOnly {
                writer.put(Int32(IPSET_ATTR_FLAGS) | netByteOrder, u32: IPSET_FLAG_LIST_HEADER.rawValue.bigEndian)
            }
        }
    }

    /// IPSET_CMD_TYPE: which revisions of a type the kernel has.
    static func typeQuery(_ type: IPSetType, family: IPFamily) -> NetlinkMessage {
        request(IPSET_CMD_TYPE, flags: 0) { writer in
            writer.put(Int32(IPSET_ATTR_TYPENAME), string: type.rawValue)
            writer.put(Int32(IPSET_ATTR_FAMILY), u8: family.addressFamily)
        }
    }

    /// NLM_F_EXCL: a set of that name already there is an error, never taken over.
    static func create(_ set: IPSetState, revision: UInt8) -> NetlinkMessage {
        request(IPSET_CMD_CREATE, flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL) { writer in
            writer.put(Int32(IPSET_ATTR_SETNAME), string: set.name)
            writer.put(Int32(IPSET_ATTR_TYPENAME), string: set.type.rawValue)
            writer.put(Int32(IPSET_ATTR_REVISION), u8: revision)
            writer.put(Int32(IPSET_ATTR_FAMILY), u8: set.family.addressFamily)
            writer.nest(Int32(IPSET_ATTR_DATA)) {}
        }
    }

    /// IPSET_CMD_HEADER: one set's name, type, family and revision.
    static func header(_ name: String) -> NetlinkMessage {
        request(IPSET_CMD_HEADER, flags: 0) { writer in
            writer.put(Int32(IPSET_ATTR_SETNAME), string: name)
        }
    }

    static func destroy(_ name: String) -> NetlinkMessage {
        request(IPSET_CMD_DESTROY, flags: NLM_F_ACK | NLM_F_EXCL) { writer in
            writer.put(Int32(IPSET_ATTR_SETNAME), string: name)
        }
    }

    static func swap(_ first: String, _ second: String) -> NetlinkMessage {
        request(IPSET_CMD_SWAP, flags: NLM_F_ACK) { writer in
            writer.put(Int32(IPSET_ATTR_SETNAME), string: first)
            writer.put(Int32(IPSET_ATTR_SETNAME2), string: second)
        }
    }

    /// Entries in one add or delete message: the largest (an IPv6 network with flags and
    /// a 15-character bridge port, 72 bytes) that many fit a MessageWriter's buffer beside
    /// the header and set name.
    static let entriesPerMessage = 48

    /// An add (IPSET_CMD_ADD) or a delete (IPSET_CMD_DEL) of `entries` of one set in one
    /// message, as `ipset restore` sends them: the entries in an IPSET_ATTR_ADT nest,
    /// each numbered from `firstLine` as the line it would be (the message carries the
    /// first number; a refusal stops at that entry, those before it applied). Fewer, larger messages
    /// than one per entry: a pod set of thousands is written in a few dozen.
    ///
    /// `exclusive` (NLM_F_EXCL, as `ipset` sends without -exist): an entry already there
    /// (add) or not there (delete) is refused (IPSET_ERR_EXIST), so a diff that went
    /// wrong shows instead of passing silently; without it the kernel takes it as done.
    enum MemberChange {
        case add, delete
    }

    static func members(_ change: MemberChange, _ set: String, _ entries: ArraySlice<IPSetEntry>,
                        firstLine: UInt32 = 1, exclusive: Bool = true) -> NetlinkMessage {
        precondition(entries.count <= entriesPerMessage, "\(entries.count) ipset entries in one message")
        return request(change == .add ? IPSET_CMD_ADD : IPSET_CMD_DEL, flags: NLM_F_ACK | (exclusive ? NLM_F_EXCL : 0)) { writer in
            writer.put(Int32(IPSET_ATTR_SETNAME), string: set)
            writer.put(Int32(IPSET_ATTR_LINENO) | netByteOrder, u32: firstLine.bigEndian)
            writer.nest(Int32(IPSET_ATTR_ADT)) {
                for (offset, entry) in entries.enumerated() {
                    writer.nest(Int32(IPSET_ATTR_DATA)) {
                        writer.nest(Int32(IPSET_ATTR_IP)) {
                            let kind = entry.network.family == .ipv4 ? IPSET_ATTR_IPADDR_IPV4 : IPSET_ATTR_IPADDR_IPV6
                            writer.put(Int32(kind) | netByteOrder, address: entry.network.address)
                        }
                        if !entry.isHost { writer.put(Int32(IPSET_ATTR_CIDR), u8: UInt8(entry.network.prefixLength)) }
                        let flags = (entry.nomatch ? IPSET_FLAG_NOMATCH.rawValue : 0)
                            | (entry.bridgePort != nil ? IPSET_FLAG_PHYSDEV.rawValue : 0)
                        if flags != 0 { writer.put(Int32(IPSET_ATTR_CADT_FLAGS) | netByteOrder, u32: flags.bigEndian) }
                        if let port = entry.bridgePort { writer.put(Int32(IPSET_ATTR_IFACE), string: port) }
                        writer.put(Int32(IPSET_ATTR_LINENO) | netByteOrder, u32: (firstLine + UInt32(offset)).bigEndian)
                    }
                }
            }
        }
    }

    /// The sets of a list dump. A set with many members spans several messages,
    /// each naming it and carrying some of its entries. Sets of types podnet does
    /// not make are listed without members (they are never podnet's).
    static func sets(from messages: [NetlinkMessage]) throws(NetlinkError) -> [IPSetState] {
        var order: [String] = []
        var byName: [String: IPSetState] = [:]
        for message in messages {
            guard let (_, attributes) = try Nfnetlink.body(of: message, .ipset, UInt32(IPSET_CMD_LIST.rawValue)),
                  let name = attributes.string(UInt16(IPSET_ATTR_SETNAME)) else { continue }
            if byName[name] == nil {
                guard let typeName = attributes.string(UInt16(IPSET_ATTR_TYPENAME)),
                      let familyByte = attributes.u8(UInt16(IPSET_ATTR_FAMILY)) else {
                    throw .malformed("ipset \(name) listed without its type and family")
                }
                // Types podnet does not make stand in as hash:ip; only the name matters for them.
                let family = IPFamily(addressFamily: familyByte) ?? .ipv4
                byName[name] = IPSetState(name: name, type: IPSetType(rawValue: typeName) ?? .hashIP, family: family)
                order.append(name)
            }
            guard let family = byName[name]?.family, let adt = attributes[UInt16(IPSET_ATTR_ADT)] else { continue }
            for (type, data) in try tlvs(adt) where type == UInt16(IPSET_ATTR_DATA) {
                if let entry = try self.entry(NetlinkAttributes(data), family: family) {
                    byName[name]?.entries.insert(entry)
                }
            }
        }
        return order.compactMap { byName[$0] }
    }

    /// IPSET_ATTR_INDEX (network order) of each set a list dump names.
    static func indexes(from messages: [NetlinkMessage]) throws(NetlinkError) -> IPSetIndexes {
        var pairs: [(name: String, index: UInt16)] = []
        for message in messages {
            guard let (_, attributes) = try Nfnetlink.body(of: message, .ipset, UInt32(IPSET_CMD_LIST.rawValue)),
                  let name = attributes.string(UInt16(IPSET_ATTR_SETNAME)),
                  let index: UInt16 = attributes.bigEndian(UInt16(IPSET_ATTR_INDEX)) else { continue }
            pairs.append((name, index))
        }
        return IPSetIndexes(pairs)
    }

    private static func entry(_ data: NetlinkAttributes, family: IPFamily) throws(NetlinkError) -> IPSetEntry? {
        let kind = UInt16(family == .ipv4 ? IPSET_ATTR_IPADDR_IPV4 : IPSET_ATTR_IPADDR_IPV6)
        guard let address = try data.nested(UInt16(IPSET_ATTR_IP))?.address(kind, family: family) else { return nil }
        let prefix = data.u8(UInt16(IPSET_ATTR_CIDR)).map(Int.init) ?? family.hostPrefixLength
        let flags: UInt32 = data.bigEndian(UInt16(IPSET_ATTR_CADT_FLAGS)) ?? 0
        // An interface without IPSET_FLAG_PHYSDEV is a routed interface, which podnet's
        // sets never hold: kept as a port of that name, it differs from every wanted entry.
        let interface = data.string(UInt16(IPSET_ATTR_IFACE))
        return IPSetEntry(IPNetwork(network: address, prefixLength: prefix),
                          nomatch: flags & IPSET_FLAG_NOMATCH.rawValue != 0,
                          bridgePort: interface.map { flags & IPSET_FLAG_PHYSDEV.rawValue != 0 ? $0 : "(routed) " + $0 })
    }

    /// Every TLV of `bytes` in order, repeated types included (an ADT container holds
    /// one IPSET_ATTR_DATA per entry).
    private static func tlvs(_ bytes: ArraySlice<UInt8>) throws(NetlinkError) -> [(UInt16, ArraySlice<UInt8>)] {
        var found: [(UInt16, ArraySlice<UInt8>)] = []
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(bytes[offset...].load(UInt16.self, at: 0))
            let type = bytes[offset...].load(UInt16.self, at: 2) & 0x3FFF
            guard length >= 4, offset + length <= bytes.endIndex else {
                throw .malformed("ipset attribute \(type) of length \(length) overruns its container")
            }
            found.append((type, bytes[(offset + 4)..<(offset + length)]))
            offset += netlinkAligned(length)
        }
        return found
    }

    /// ipset answers with its own error numbers (4096 and up), which strerror does not
    /// know: the words `ipset` prints for them.
    static func explained(_ reason: KernelReason) -> KernelReason {
        guard reason.message == nil, let words = IPSetErrorCode(rawValue: reason.errno)?.words else { return reason }
        return KernelReason(errno: reason.errno, message: words)
    }

    /// `perform`'s refusal with ipset's words in it.
    static func refusal(_ body: () throws(NetlinkError) -> Void) throws(NetlinkError) {
        do {
            try body()
        } catch .kernel(let type, let sequence, let reason) {
            throw .kernel(type: type, sequence: sequence, reason: explained(reason))
        }
    }
}

/// The ip_set protocol's own error numbers (enum ipset_errno) that podnet's requests
/// can meet, with the words `ipset` prints for them.
enum IPSetErrorCode: Int32 {
    case protocolVersion = 4097
    case findType = 4098
    case maxSets = 4099
    case busy = 4100
    case existSetName2 = 4101
    case typeMismatch = 4102
    case exist = 4103
    case invalidCIDR = 4104
    case invalidFamily = 4106
    case referenced = 4108
    case ipv4Address = 4109
    case ipv6Address = 4110
    case hashFull = 4352

    var words: String {
        switch self {
        case .protocolVersion: return "ipset: kernel protocol version not supported"
        case .findType: return "ipset: the kernel has no such set type or revision"
        case .maxSets: return "ipset: the kernel's maximal number of sets is reached"
        case .busy: return "ipset: the set is in use by a rule and cannot be destroyed"
        case .existSetName2: return "ipset: the second set named is missing (swap) or taken (rename)"
        case .typeMismatch: return "ipset: the sets cannot be swapped: their type or family does not match"
        case .exist: return "ipset: the set or element already exists (create, add) or the element is not in the set (del)"
        case .invalidCIDR: return "ipset: invalid prefix length"
        case .invalidFamily: return "ipset: the address family does not match the set"
        case .referenced: return "ipset: the set is referenced and cannot be destroyed"
        case .ipv4Address: return "ipset: an IPv4 address is expected"
        case .ipv6Address: return "ipset: an IPv6 address is expected"
        case .hashFull: return "ipset: the set is full"
        }
    }
}

extension NetlinkOperationError {
    /// The kernel has no ip_set subsystem (the module is not built or loadable):
    /// nfnetlink refuses a request for a subsystem it does not have.
    public var isMissingIPSetSubsystem: Bool {
        guard case .failed(_, _, let cause) = self, let reason = cause.kernelReason else { return false }
        return [EINVAL, EOPNOTSUPP, EPROTONOSUPPORT].contains(reason.errno)
    }
}
