#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CMNL
import PodNet
import PodNetSystem

/// The connection tracking table of one network namespace, over ctnetlink
/// (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_CTNETLINK).
///
/// Not thread-safe and not Sendable, like `Netlink`.
public final class Conntrack {
    let session: Netlink
    /// The namespace the socket lives in (nil: the creator's).
    public var namespace: NetworkNamespace? { session.namespace }

    /// Over `session`, a NETLINK_NETFILTER session (tests give it a scripted transport).
    public init(session: Netlink) {
        self.session = session
    }

    /// The table of `namespace`, through a new NETLINK_NETFILTER socket opened there.
    public convenience init(namespace: NetworkNamespace? = nil) throws(NetlinkError) {
        self.init(session: try Netlink(namespace: namespace, protocol: NETLINK_NETFILTER))
    }

    /// `conntrack -D -f FAMILY -p PROTO --dport PORT`, for the flows whose original
    /// destination lies in `destinations` only: deletes every such flow of `family`
    /// whose original direction goes to `destinationPort` over `transport`, and
    /// returns how many it deleted.
    ///
    /// Existing UDP flows keep the NAT decision made for their first packet, so
    /// after a new DNAT (a host port) they would bypass it until they time out;
    /// Kubernetes clears them this way. A host port catches only packets to the
    /// node's own addresses (or its host IP): the node's flows to that port on other
    /// hosts (its DNS queries, for a host port 53) never meet the DNAT and stay.
    public func deleteFlows(family: IPFamily, transport: TransportProtocol, destinationPort: UInt16,
                            to destinations: [IPNetwork]) throws(NetlinkOperationError) -> Int {
        try deleteFlows(family: family, transport: transport,
                        [FlowSelection(destinationPort: destinationPort, destinations: destinations)])
    }

    /// Up to this many ports, each port is a dump of its own that the kernel filters;
    /// more are one dump of the protocol's flows. 1,000 UDP host ports beside 50,000
    /// UDP flows made a no-op apply take 17 to 42 s with a dump per port, against about
    /// 0.05 s for the same apply with TCP ports, which have no sweep (measured here).
    static let perPortDumpLimit = 8

    /// Deletes, in one dump of the table per port or one in all, the flows of `family` over `transport` that
    /// any of `selections` picks, and returns how many it deleted.
    ///
    /// Each flow is deleted by its original tuple as dumped, with its id (and zone),
    /// so a flow recreated with the same tuple since the dump is left alone. A flow
    /// that ended since the dump (ENOENT) is not counted. Throws the first other
    /// refusal, and `repliesLost` when acknowledgements were lost: deleting again
    /// is harmless and removes whatever is left.
    public func deleteFlows(family: IPFamily, transport: TransportProtocol,
                            _ selections: [FlowSelection]) throws(NetlinkOperationError) -> Int {
        guard !selections.isEmpty else { return 0 }
        let command = "conntrack -D -f \(family.rawValue) -p \(transport.rawValue) "
            + selections.map(\.description).joined(separator: "; ")
        let byPort = Dictionary(grouping: selections, by: \.destinationPort)
        return try session.attempt(command) { () throws(NetlinkError) in
            var doomed: [ConntrackFlow] = []
            // A few ports: one dump per port, which the kernel filters, since a busy node's
            // table is mostly other flows and reading each of them costs far more than the
            // kernel's walk. But every such dump walks the whole table: beyond a few ports,
            // one dump of the protocol's flows, matched here, costs one walk instead of one
            // per port.
            let ports: [UInt16?] = byPort.count <= Self.perPortDumpLimit ? byPort.keys.sorted() : [nil]
            for port in ports {
                let request = ConntrackMessages.dump(family: family, transport: transport, destinationPort: port)
                for message in try session.dump(request) {
                    guard let flow = try ConntrackMessages.parse(message), flow.family == family,
                          flow.protocolNumber == transport.number, let flowPort = flow.destinationPort,
                          port == nil || flowPort == port,
                          byPort[flowPort]?.contains(where: { $0.picks(flow) }) == true
                    else { continue }
                    doomed.append(flow)
                }
            }
            var deleted = 0
            for acknowledgement in try session.batch(doomed.map(ConntrackMessages.delete)) {
                switch acknowledgement {
                case .applied: deleted += 1
                case .refused(let reason) where reason.errno == ENOENT: continue
                case .refused(let reason):
                    throw .kernel(type: ConntrackMessages.deleteType, sequence: 0, reason: reason)
                case .lost: throw .repliesLost
                }
            }
            return deleted
        }
    }
}

/// Which flows `Conntrack.deleteFlows` deletes: those whose original direction goes
/// to `destinationPort` on one of `destinations`; with `keeping`, only those of them
/// nothing DNATed and those DNATed into `formerTargets` to anything but `keeping`.
public struct FlowSelection: Sendable, Hashable, CustomStringConvertible {
    public var destinationPort: UInt16
    public var destinations: [IPNetwork]
    /// The reply tuple's source of the flows that stay: a host port's DNAT target,
    /// whose flows already meet the mapping; nil deletes every flow to the port.
    public var keeping: TransportEndpoint?
    /// With `keeping`, where a DNATed flow's replies may come from for it to go: the
    /// node's pod CIDRs (a former mapping's pod). A flow DNATed anywhere else was
    /// DNATed by another program's rule (kube-proxy's, before the host port's): it stays.
    public var formerTargets: [IPNetwork]

    public init(destinationPort: UInt16, destinations: [IPNetwork], keeping: TransportEndpoint? = nil,
                formerTargets: [IPNetwork] = []) {
        self.destinationPort = destinationPort
        self.destinations = destinations
        self.keeping = keeping
        self.formerTargets = formerTargets
    }

    func picks(_ flow: ConntrackFlow) -> Bool {
        guard flow.destinationPort == destinationPort, let destination = flow.destination,
              destinations.contains(where: { $0.contains(destination) }) else { return false }
        guard let keeping else { return true }
        guard let reply = flow.replySource else { return false }
        // Replies from where the flow was sent: nothing DNATed it.
        if reply == TransportEndpoint(address: destination, port: destinationPort) { return true }
        return reply != keeping && formerTargets.contains { $0.contains(reply.address) }
    }

    public var description: String {
        "--dport \(destinationPort) -d " + destinations.map(\.description).joined(separator: ",")
            + (keeping.map { keeping in
                " (un-NATed, or DNATed into " + formerTargets.map(\.description).joined(separator: ",")
                    + " but not to \(keeping))"
            } ?? "")
    }
}

/// An address and a transport port: where a flow's replies come from.
public struct TransportEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String {
        address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// One tracked connection, as much of it as deleting it takes.
struct ConntrackFlow: Sendable, Hashable {
    var family: IPFamily
    /// CTA_PROTO_NUM of the original tuple: 6 TCP, 17 UDP, ...
    var protocolNumber: UInt8
    /// The original direction's destination port; nil for a protocol without ports.
    var destinationPort: UInt16?
    /// The original direction's destination address (CTA_IP_V4_DST / CTA_IP_V6_DST).
    var destination: IPAddress?
    /// The reply direction's source (CTA_TUPLE_REPLY): the original destination for a
    /// flow nothing DNATed, the DNAT's target for one it did; nil without ports.
    var replySource: TransportEndpoint?
    /// The CTA_TUPLE_ORIG attributes as the kernel dumped them: the key a delete names.
    var originalTuple: [UInt8]
    /// CTA_ID: the kernel deletes only the flow that still has this id.
    var id: UInt32?
    /// CTA_ZONE, dumped only for a flow outside the default zone 0.
    var zone: UInt16?
}

/// The ctnetlink messages, as pure functions of their values.
enum ConntrackMessages {
    static let newType = Nfnetlink.type(.conntrack, IPCTNL_MSG_CT_NEW.rawValue)
    static let deleteType = Nfnetlink.type(.conntrack, IPCTNL_MSG_CT_DELETE.rawValue)

    /// `conntrack -L -f FAMILY -p PROTO [--dport PORT]`: IPCTNL_MSG_CT_GET with NLM_F_DUMP,
    /// the family in nfgenmsg, filtered by the kernel (CTA_FILTER, Linux 5.8) on the
    /// original tuple's protocol and, given one, destination port, with the flags of
    /// nf_conntrack_netlink.c (CTA_FILTER_F_CTA_PROTO_NUM 1 << 3,
    /// CTA_FILTER_F_CTA_PROTO_DST_PORT 1 << 5), which no uapi header carries. An older
    /// kernel ignores the attribute and dumps every flow; the caller checks each one.
    static func dump(family: IPFamily, transport: TransportProtocol, destinationPort: UInt16?) -> NetlinkMessage {
        Nfnetlink.message(.conntrack, IPCTNL_MSG_CT_GET.rawValue, flags: NLM_F_DUMP, family: family.addressFamily) { writer in
            writer.nest(Int32(CTA_TUPLE_ORIG.rawValue)) {
                writer.nest(Int32(CTA_TUPLE_PROTO.rawValue)) {
                    writer.put(Int32(CTA_PROTO_NUM.rawValue), u8: transport.number)
                    if let destinationPort {
                        writer.put(Int32(CTA_PROTO_DST_PORT.rawValue), bytes: bigEndianBytes(destinationPort))
                    }
                }
            }
            writer.nest(Int32(CTA_FILTER.rawValue)) {
                writer.put(Int32(CTA_FILTER_ORIG_FLAGS.rawValue), u32: destinationPort == nil ? 1 << 3 : 1 << 3 | 1 << 5)
                writer.put(Int32(CTA_FILTER_REPLY_FLAGS.rawValue), u32: 0)
            }
        }
    }

    /// IPCTNL_MSG_CT_DELETE of `flow`: its original tuple echoed back, its id and zone.
    static func delete(_ flow: ConntrackFlow) -> NetlinkMessage {
        Nfnetlink.message(.conntrack, IPCTNL_MSG_CT_DELETE.rawValue, flags: NLM_F_ACK,
                          family: flow.family.addressFamily) { writer in
            writer.put(Int32(CTA_TUPLE_ORIG.rawValue) | NLA_F_NESTED, bytes: flow.originalTuple)
            if let zone = flow.zone { writer.put(Int32(CTA_ZONE.rawValue), bytes: bigEndianBytes(zone)) }
            if let id = flow.id { writer.put(Int32(CTA_ID.rawValue), bytes: bigEndianBytes(id)) }
        }
    }

    /// A flow of a dump (IPCTNL_MSG_CT_NEW); nil for another message or a family
    /// podnet does not handle. Ports, id and zone travel in network byte order.
    static func parse(_ message: NetlinkMessage) throws(NetlinkError) -> ConntrackFlow? {
        guard let (familyByte, attributes) = try Nfnetlink.body(of: message, .conntrack, IPCTNL_MSG_CT_NEW.rawValue),
              let family = IPFamily(addressFamily: familyByte) else { return nil }
        guard let originalTuple = attributes[UInt16(CTA_TUPLE_ORIG.rawValue)],
              let tuple = try attributes.nested(UInt16(CTA_TUPLE_ORIG.rawValue)),
              let proto = try tuple.nested(UInt16(CTA_TUPLE_PROTO.rawValue)),
              let protocolNumber = proto.u8(UInt16(CTA_PROTO_NUM.rawValue)) else {
            throw .malformed("conntrack flow without an original tuple and protocol")
        }
        let destinationType = family == .ipv4 ? CTA_IP_V4_DST.rawValue : CTA_IP_V6_DST.rawValue
        let sourceType = family == .ipv4 ? CTA_IP_V4_SRC.rawValue : CTA_IP_V6_SRC.rawValue
        var replySource: TransportEndpoint?
        if let reply = try attributes.nested(UInt16(CTA_TUPLE_REPLY.rawValue)),
           let address = try reply.nested(UInt16(CTA_TUPLE_IP.rawValue))?.address(UInt16(sourceType), family: family),
           let port: UInt16 = try reply.nested(UInt16(CTA_TUPLE_PROTO.rawValue))?.bigEndian(UInt16(CTA_PROTO_SRC_PORT.rawValue)) {
            replySource = TransportEndpoint(address: address, port: port)
        }
        return ConntrackFlow(
            family: family,
            protocolNumber: protocolNumber,
            destinationPort: proto.bigEndian(UInt16(CTA_PROTO_DST_PORT.rawValue)),
            destination: try tuple.nested(UInt16(CTA_TUPLE_IP.rawValue))?.address(UInt16(destinationType), family: family),
            replySource: replySource,
            originalTuple: Array(originalTuple),
            id: attributes.bigEndian(UInt16(CTA_ID.rawValue)),
            zone: attributes.bigEndian(UInt16(CTA_ZONE.rawValue)))
    }

    private static func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}

extension NetlinkAttributes {
    /// An integer attribute in network byte order (ports, conntrack ids and zones).
    func bigEndian<T: FixedWidthInteger>(_ type: UInt16) -> T? {
        guard let payload = self[type], payload.count == MemoryLayout<T>.size else { return nil }
        return T(bigEndian: payload.load(T.self, at: 0))
    }
}
