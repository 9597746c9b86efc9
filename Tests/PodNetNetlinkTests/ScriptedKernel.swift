import PodNet
@testable import PodNetNetlink

/// A transport answering as rtnetlink does, to exercise the session's chunking
/// and acknowledgement matching without root: every message of a send that asks for
/// an acknowledgement (NLM_F_ACK) or is refused is answered at once, in order, unless
/// the receive buffer (`bufferedReplies`) is full, in which case the reply is dropped
/// and the next receive fails with ENOBUFS, as the kernel does.
final class ScriptedKernel: NetlinkTransport {
    private(set) var sent: [[UInt8]] = []
    private var queue: [[UInt8]] = []
    private var overrun = false
    /// The kernel's answer to a write message: nil to apply it.
    var refuse: (NetlinkMessage) -> KernelReason? = { _ in nil }
    var bufferedReplies = Int.max
    /// Answers to dump requests, one list of datagrams per request, in order.
    var dumpAnswers: [(UInt32) -> [[UInt8]]] = []

    func send(_ datagram: [UInt8]) throws(NetlinkError) {
        sent.append(datagram)
        for message in try NetlinkMessage.split(datagram: datagram) {
            if message.flags & 0x300 == 0x300 {
                queue += dumpAnswers.removeFirst()(message.sequence)
                continue
            }
            let refusal = refuse(message)
            guard message.flags & 0x4 != 0 || refusal != nil else { continue }
            let reply = ScriptedKernel.acknowledgement(of: message, refusal: refusal)
            if queue.count < bufferedReplies { queue.append(reply) } else { overrun = true }
        }
    }

    func inject(_ datagram: [UInt8]) { queue.append(datagram) }

    func receive() throws(NetlinkError) -> [UInt8] {
        if overrun {
            overrun = false
            throw .repliesLost
        }
        guard !queue.isEmpty else { throw .system(call: "recvfrom (test: nothing would ever arrive)", errno: 11) }
        return queue.removeFirst()
    }

    func receiveQueued() throws(NetlinkError) -> [UInt8]? {
        queue.isEmpty ? nil : queue.removeFirst()
    }

    /// An NLMSG_ERROR as the kernel sends it with NETLINK_CAP_ACK and NETLINK_EXT_ACK:
    /// the request's header only (NLM_F_CAPPED), then NLMSGERR_ATTR_MSG.
    static func acknowledgement(of request: NetlinkMessage, refusal: KernelReason?) -> [UInt8] {
        var payload = withUnsafeBytes(of: -(refusal?.errno ?? 0)) { Array($0) } + request.bytes.prefix(16)
        var flags: UInt16 = 0x100
        if let text = refusal?.message {
            let string = Array(text.utf8) + [0]
            payload += withUnsafeBytes(of: UInt16(4 + string.count)) { Array($0) } + [1, 0] + string
            payload += [UInt8](repeating: 0, count: (4 - string.count % 4) % 4)
            flags |= 0x200
        }
        return header(length: 16 + payload.count, type: 2, flags: flags, sequence: request.sequence) + payload
    }

    static func header(length: Int, type: UInt16, flags: UInt16, sequence: UInt32) -> [UInt8] {
        withUnsafeBytes(of: UInt32(length)) { Array($0) } + withUnsafeBytes(of: type) { Array($0) }
            + withUnsafeBytes(of: flags) { Array($0) } + withUnsafeBytes(of: sequence) { Array($0) } + [0, 0, 0, 0]
    }
}
