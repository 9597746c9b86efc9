import CMNL
import PodNet

/// Writes one netlink message with libmnl into a scratch buffer. Used only by
/// the pure builder functions, which return the finished `NetlinkMessage`.
struct MessageWriter {
    /// Far more than any single podnet request needs (a veth create is ~100 bytes).
    static let capacity = 4096

    private let header: UnsafeMutablePointer<nlmsghdr>

    /// Builds a message of `type` with `flags` (NLM_F_REQUEST is always added).
    static func message(type: Int32, flags: Int32, _ fill: (MessageWriter) -> Void) -> NetlinkMessage {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        // Not zeroed as a whole: libmnl zeroes the headers it puts, `put` zeroes each
        // attribute's room (libmnl 1.0.4 leaves its padding as it was), and only the
        // message's own bytes are copied out (a 10,000-route batch spent more on
        // clearing 4 KiB per message than on the rest).
        let header = mnl_nlmsg_put_header(buffer)!
        header.pointee.nlmsg_type = UInt16(type)
        header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | flags)
        fill(MessageWriter(header: header))
        let length = Int(header.pointee.nlmsg_len)
        return NetlinkMessage(bytes: Array(UnsafeRawBufferPointer(start: buffer, count: length)))
    }

    /// Appends a fixed header at the end of the message: the family header (ifinfomsg,
    /// ifaddrmsg, rtmsg) after nlmsghdr, or the peer ifinfomsg inside VETH_INFO_PEER.
    func putHeader<Header>(_ value: Header) {
        let extra = mnl_nlmsg_put_extra_header(header, MemoryLayout<Header>.size)!
        extra.storeBytes(of: value, as: Header.self)
    }

    func put(_ type: Int32, bytes: [UInt8]) {
        bytes.withUnsafeBytes { put(type, raw: $0) }
    }

    func put(_ type: Int32, raw: UnsafeRawBufferPointer) {
        let end = Int(header.pointee.nlmsg_len)
        let room = netlinkAligned(4 + raw.count)
        if end + room <= MessageWriter.capacity {
            (UnsafeMutableRawPointer(header) + end).initializeMemory(as: UInt8.self, repeating: 0, count: room)
        }
        let fits = mnl_attr_put_check(header, MessageWriter.capacity, UInt16(type), raw.count, raw.baseAddress)
        precondition(fits, "netlink message outgrew its \(MessageWriter.capacity)-byte buffer")
    }

    func put(_ type: Int32, u8 value: UInt8) { withUnsafeBytes(of: value) { put(type, raw: $0) } }
    func put(_ type: Int32, u32 value: UInt32) { withUnsafeBytes(of: value) { put(type, raw: $0) } }
    /// A NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING policies accept.
    func put(_ type: Int32, string value: String) { put(type, bytes: Array(value.utf8) + [0]) }

    /// In network order, 4 or 16 bytes.
    func put(_ type: Int32, address: IPAddress) {
        address.withNetworkOrderBytes { put(type, raw: $0) }
    }

    /// A nested attribute (NLA_F_NESTED set by libmnl) holding what `body` writes.
    func nest(_ type: Int32, _ body: () -> Void) {
        let start = mnl_attr_nest_start_check(header, MessageWriter.capacity, UInt16(type))
        precondition(start != nil, "netlink message outgrew its \(MessageWriter.capacity)-byte buffer")
        body()
        mnl_attr_nest_end(header, start)
    }
}
