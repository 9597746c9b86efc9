import CMNL
import PodNet
import PodNetSystem

/// What became of one message of a batch.
public enum Acknowledgement: Sendable, Hashable {
    case applied
    case refused(KernelReason)
    /// Its acknowledgement was dropped (ENOBUFS): the caller must re-read the state.
    case lost
}

/// A netlink conversation: numbers requests, sends them in chunks the socket
/// buffers take, and matches replies to requests by sequence number.
///
/// The backend's layers: `NetlinkSocket` (libmnl, behind `NetlinkTransport`)
/// moves datagrams; this session speaks the protocol; the message builders
/// (`LinkMessages`, `AddressMessages`, `RouteMessages`) are pure functions
/// tested byte for byte; the operations (links, bridge, addresses, routes,
/// pods) are extensions of this class, each documented with its `ip` command.
/// Every operation acts in the namespace the socket was opened in.
///
/// Not thread-safe and not Sendable: one session is used by one synchronous
/// operation at a time.
public final class Netlink {
    let transport: any NetlinkTransport
    /// The namespace the socket lives in (nil: the creator's).
    public let namespace: NetworkNamespace?
    /// Bytes of messages per send: a single send larger than the send buffer fails
    /// with EMSGSIZE, and a chunk's acknowledgements must fit the receive buffer.
    let chunkBytes: Int
    private var nextSequence: UInt32 = 1

    public static let defaultChunkBytes = 16 * 1024
    static let dumpAttempts = 5

    public init(transport: any NetlinkTransport, namespace: NetworkNamespace? = nil,
                chunkBytes: Int = Netlink.defaultChunkBytes) {
        self.transport = transport
        self.namespace = namespace
        self.chunkBytes = chunkBytes
    }

    /// A session on a new socket of `netlinkProtocol` (rtnetlink unless said) inside `namespace`.
    public convenience init(namespace: NetworkNamespace? = nil,
                            protocol netlinkProtocol: Int32 = NETLINK_ROUTE) throws(NetlinkError) {
        self.init(transport: try NetlinkSocket(namespace: namespace, protocol: netlinkProtocol), namespace: namespace)
    }

    private func numbered(_ message: NetlinkMessage) -> NetlinkMessage {
        var message = message
        message.sequence = nextSequence
        nextSequence = nextSequence == UInt32.max ? 1 : nextSequence + 1
        return message
    }

    /// Sends one write request and waits for its acknowledgement.
    func perform(_ message: NetlinkMessage) throws(NetlinkError) {
        let numberedMessage = numbered(message)
        switch try exchange([numberedMessage])[0] {
        case .applied: return
        case .refused(let reason):
            throw .kernel(type: message.type, sequence: numberedMessage.sequence, reason: reason)
        case .lost: throw .repliesLost
        }
    }

    /// Sends many write requests in chunks and reads each chunk's acknowledgements
    /// before the next. The kernel applies them one by one, so the outcomes are
    /// per message, in order. Throws only when the socket itself fails.
    func batch(_ messages: [NetlinkMessage]) throws(NetlinkError) -> [Acknowledgement] {
        var outcomes: [Acknowledgement] = []
        outcomes.reserveCapacity(messages.count)
        var chunk: [NetlinkMessage] = []
        var chunkSize = 0
        for message in messages {
            if chunkSize + message.storage.count > chunkBytes, !chunk.isEmpty {
                outcomes += try exchange(chunk)
                chunk.removeAll(keepingCapacity: true)
                chunkSize = 0
            }
            chunk.append(numbered(message))
            chunkSize += message.storage.count
        }
        if !chunk.isEmpty { outcomes += try exchange(chunk) }
        return outcomes
    }

    /// Sends already numbered messages in one datagram and collects their outcomes.
    /// Only the chunk's first and last messages ask for an acknowledgement (NLM_F_ACK):
    /// the kernel answers a request without it only when it refuses it (netlink_rcv_skb
    /// acks on NLM_F_ACK or an error), and handles the messages of one send in order, so
    /// once the last one's answer is read, every refusal before it has been read too
    /// (matched by sequence number) and the messages that drew none were applied. A
    /// 10,000-route batch reads a few dozen datagrams instead of 10,000 acknowledgements.
    /// (The first asks too so that every write datagram starts with a request asking for
    /// one, as strace shows it: the kernel tests find podnet's writes that way.)
    private func exchange(_ chunk: [NetlinkMessage]) throws(NetlinkError) -> [Acknowledgement] {
        var index: [UInt32: Int] = [:]
        index.reserveCapacity(chunk.count)
        var datagram: [UInt8] = []
        datagram.reserveCapacity(chunk.reduce(0) { $0 + $1.storage.count })
        for (position, message) in chunk.enumerated() {
            index[message.sequence] = position
            var message = message
            if position == 0 || position == chunk.count - 1 {
                message.flags |= UInt16(NLM_F_ACK)
            } else {
                message.flags &= ~UInt16(NLM_F_ACK)
            }
            datagram += message.storage
        }
        var outcomes = [Acknowledgement](repeating: .lost, count: chunk.count)
        var lastAnswered = false
        try transport.send(datagram)

        func record(_ datagram: [UInt8]) throws(NetlinkError) {
            for reply in try NetlinkMessage.split(datagram: datagram)
            where reply.type == UInt16(NLMSG_ERROR) {
                // Replies to earlier requests (stale after an overrun) match no index.
                guard let position = index.removeValue(forKey: reply.sequence) else { continue }
                outcomes[position] = try Acknowledgement(errorReply: reply)
                if position == chunk.count - 1 { lastAnswered = true }
            }
        }

        do throws(NetlinkError) {
            while !lastAnswered { try record(try transport.receive()) }
        } catch .repliesLost {
            // rtnetlink handles a send synchronously: when send returned, every
            // reply of this chunk was queued or dropped. Whatever is still queued
            // is read now; a message without an answer may have lost its refusal,
            // so it stays `.lost`.
            while let datagram = try transport.receiveQueued() { try record(datagram) }
            return outcomes
        }
        // No overrun: silence was success.
        for position in outcomes.indices where outcomes[position] == .lost { outcomes[position] = .applied }
        return outcomes
    }

    /// Runs a dump request (NLM_F_DUMP) and returns its messages. An interrupted
    /// (NLM_F_DUMP_INTR) or overrun dump is started again.
    func dump(_ request: NetlinkMessage) throws(NetlinkError) -> [NetlinkMessage] {
        for _ in 0..<Netlink.dumpAttempts {
            let numberedRequest = numbered(request)
            try transport.send(numberedRequest.bytes)
            var collected: [NetlinkMessage] = []
            var consistent = true
            do throws(NetlinkError) {
                receiving: while true {
                    for reply in try NetlinkMessage.split(datagram: try transport.receive())
                    where reply.sequence == numberedRequest.sequence {
                        if reply.flags & UInt16(NLM_F_DUMP_INTR) != 0 { consistent = false }
                        switch Int32(reply.type) {
                        case NLMSG_DONE:
                            try Self.checkDone(reply, request: numberedRequest)
                            break receiving
                        case NLMSG_ERROR:
                            if case .refused(let reason) = try Acknowledgement(errorReply: reply) {
                                throw NetlinkError.kernel(type: request.type, sequence: reply.sequence,
                                                          reason: reason)
                            }
                        default:
                            collected.append(reply)
                        }
                    }
                }
            } catch .repliesLost {
                while try transport.receiveQueued() != nil {}
                continue
            }
            if consistent { return collected }
        }
        throw .dumpInconsistent(attempts: Netlink.dumpAttempts)
    }

    /// NLMSG_DONE carries an int: a negative errno when the dump failed midway.
    private static func checkDone(_ done: NetlinkMessage, request: NetlinkMessage) throws(NetlinkError) {
        guard done.payload.count >= 4 else { return }
        let code = done.payload.load(Int32.self, at: 0)
        if code < 0 {
            throw .kernel(type: request.type, sequence: request.sequence, reason: KernelReason(errno: -code))
        }
    }

    /// A non-dump get (e.g. one link by name): its single reply.
    func fetch(_ request: NetlinkMessage) throws(NetlinkError) -> NetlinkMessage {
        let numberedRequest = numbered(request)
        try transport.send(numberedRequest.bytes)
        while true {
            for reply in try NetlinkMessage.split(datagram: try transport.receive())
            where reply.sequence == numberedRequest.sequence {
                guard reply.type == UInt16(NLMSG_ERROR) else { return reply }
                if case .refused(let reason) = try Acknowledgement(errorReply: reply) {
                    throw .kernel(type: request.type, sequence: reply.sequence, reason: reason)
                }
            }
        }
    }
}

extension Acknowledgement {
    /// Reads an NLMSG_ERROR: struct nlmsgerr { int error; struct nlmsghdr msg; }
    /// (the request echoed in full unless NLM_F_CAPPED), then, with
    /// NLM_F_ACK_TLVS, extended-ack attributes such as NLMSGERR_ATTR_MSG.
    init(errorReply reply: NetlinkMessage) throws(NetlinkError) {
        let payload = reply.payload
        guard payload.count >= 4 + NetlinkMessage.headerSize else {
            throw .malformed("NLMSG_ERROR of \(payload.count) bytes")
        }
        let code = payload.load(Int32.self, at: 0)
        if code == 0 {
            self = .applied
            return
        }
        var message: String?
        if reply.flags & UInt16(NLM_F_ACK_TLVS) != 0 {
            let echoed = reply.flags & UInt16(NLM_F_CAPPED) != 0
                ? NetlinkMessage.headerSize
                : Int(payload.load(UInt32.self, at: 4))
            let start = payload.startIndex + 4 + netlinkAligned(echoed)
            if start <= payload.endIndex {
                message = try NetlinkAttributes(payload[start...]).string(UInt16(NLMSGERR_ATTR_MSG.rawValue))
            }
        }
        self = .refused(KernelReason(errno: -code, message: message))
    }
}
