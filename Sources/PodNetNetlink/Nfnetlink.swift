import CMNL

/// nfnetlink: how netfilter's subsystems (conntrack, ipset, nftables) speak on a
/// NETLINK_NETFILTER socket. The message type carries the subsystem in its high
/// byte and the subsystem's message in its low byte; every message starts with
/// struct nfgenmsg { family, version, res_id } before its attributes.
enum Nfnetlink {
    enum Subsystem: UInt8 {
        case conntrack = 1  // NFNL_SUBSYS_CTNETLINK
        case ipset = 6      // NFNL_SUBSYS_IPSET
        case nftables = 10  // NFNL_SUBSYS_NFTABLES
    }

    static func type(_ subsystem: Subsystem, _ message: UInt32) -> UInt16 {
        UInt16(subsystem.rawValue) << 8 | UInt16(message)
    }

    /// A request of `subsystem`'s `message` about `family` (0: every family).
    static func message(_ subsystem: Subsystem, _ message: UInt32, flags: Int32, family: UInt8,
                        _ fill: (MessageWriter) -> Void = { _ in }) -> NetlinkMessage {
        MessageWriter.message(type: Int32(type(subsystem, message)), flags: flags) { writer in
            writer.putHeader(nfgenmsg(nfgen_family: family, version: UInt8(NFNETLINK_V0), res_id: 0))
            fill(writer)
        }
    }

    /// The family and attributes of a reply that is `subsystem`'s `message`;
    /// nil for any other message.
    static func body(of reply: NetlinkMessage, _ subsystem: Subsystem,
                     _ message: UInt32) throws(NetlinkError) -> (family: UInt8, attributes: NetlinkAttributes)? {
        guard reply.type == type(subsystem, message) else { return nil }
        let payload = reply.payload
        let headerSize = MemoryLayout<nfgenmsg>.size
        guard payload.count >= headerSize else {
            throw .malformed("nfnetlink message type \(reply.type) of \(payload.count) bytes has no nfgenmsg")
        }
        return (payload[payload.startIndex], try NetlinkAttributes(payload[(payload.startIndex + headerSize)...]))
    }
}
