import Testing
import PodNet
@testable import PodNetNetlink

@Suite struct ConntrackMessageTests {
    /// A flow as ctnetlink dumps it (IPCTNL_MSG_CT_NEW, NLM_F_MULTI|NLM_F_DUMP_FILTERED),
    /// shaped like the kernel's reply to `conntrack -L -f ipv4` for
    /// `udp src=10.0.0.2 dst=10.0.0.1 sport=40001 dport=5353 [UNREPLIED]` (seen with strace):
    /// the original and reply tuples, status, mark, id, use, timeout.
    static func dumpedFlow(proto: UInt8 = 17, sourcePort: UInt16 = 40001, destinationPort: UInt16 = 5353,
                           destination: String = "0a000001", id: UInt32 = 0xf666_7147, sequence: UInt32 = 1) -> [UInt8] {
        func be16(_ value: UInt16) -> String { hexText(withUnsafeBytes(of: value.bigEndian) { Array($0) }) }
        func be32(_ value: UInt32) -> String { hexText(withUnsafeBytes(of: value.bigEndian) { Array($0) }) }
        let sequenceText = hexText(withUnsafeBytes(of: sequence) { Array($0) })
        let protoText = hexText([proto])
        return hexBytes("""
            a4000000 0001 2200 \(sequenceText) 5f180000
            02 00 0000
            3400 0180
              1400 0180 0800 0100 0a000002 0800 0200 \(destination)
              1c00 0280 0500 0100 \(protoText)000000 0600 0200 \(be16(sourcePort))0000 0600 0300 \(be16(destinationPort))0000
            3400 0280
              1400 0180 0800 0100 \(destination) 0800 0200 0a000002
              1c00 0280 0500 0100 \(protoText)000000 0600 0200 \(be16(destinationPort))0000 0600 0300 \(be16(sourcePort))0000
            0800 0300 00000008
            0800 0800 00000000
            0800 0c00 \(be32(id))
            0800 0b00 00000001
            0800 0700 00000e0c
            """)
    }

    /// The original tuple of `dumpedFlow()`: addresses, then protocol 17 and ports 40001 → 5353.
    static let originalTuple = hexBytes("""
        1400 0180 0800 0100 0a000002 0800 0200 0a000001
        1c00 0280 0500 0100 11000000 0600 0200 9c410000 0600 0300 14e90000
        """)

    static func done(sequence: UInt32) -> [UInt8] {
        ScriptedKernel.header(length: 20, type: 3, flags: 2, sequence: sequence) + [0, 0, 0, 0]
    }

    @Test func dumpRequestBytes() {
        // NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET, NLM_F_REQUEST|NLM_F_DUMP,
        // nfgenmsg { AF_INET6, NFNETLINK_V0, res_id 0 }; CTA_TUPLE_ORIG { CTA_TUPLE_PROTO
        // { CTA_PROTO_NUM 17, CTA_PROTO_DST_PORT 5353 } }; CTA_FILTER (25) { ORIG_FLAGS
        // PROTO_NUM|PROTO_DST_PORT, REPLY_FLAGS 0 }, flags in host order (NLA_U32).
        #expect(hexText(ConntrackMessages.dump(family: .ipv6, transport: .udp, destinationPort: 5353).bytes) == hexText(hexBytes("""
            40000000 0101 0103 00000000 00000000
            0a 00 0000
            1800 0180 1400 0280 0500 0100 11000000 0600 0300 14e9 0000
            1400 1980 0800 0100 28000000 0800 0200 00000000
            """)))
    }

    @Test func protocolDumpRequestBytes() {
        // The same request without CTA_PROTO_DST_PORT, ORIG_FLAGS PROTO_NUM only: every
        // UDP flow of the family, for more ports than per-port dumps are worth.
        #expect(hexText(ConntrackMessages.dump(family: .ipv4, transport: .udp, destinationPort: nil).bytes) == hexText(hexBytes("""
            38000000 0101 0103 00000000 00000000
            02 00 0000
            1000 0180 0c00 0280 0500 0100 11000000
            1400 1980 0800 0100 08000000 0800 0200 00000000
            """)))
    }

    @Test func parsesADumpedFlow() throws {
        let flow = try #require(try ConntrackMessages.parse(NetlinkMessage(bytes: Self.dumpedFlow())))
        #expect(flow == ConntrackFlow(family: .ipv4, protocolNumber: 17, destinationPort: 5353,
                                      destination: IPAddress("10.0.0.1"),
                                      replySource: TransportEndpoint(address: IPAddress("10.0.0.1")!, port: 5353),
                                      originalTuple: Self.originalTuple, id: 0xf666_7147, zone: nil))
    }

    @Test func deleteEchoesTheOriginalTupleAndTheId() throws {
        let flow = try #require(try ConntrackMessages.parse(NetlinkMessage(bytes: Self.dumpedFlow())))
        // NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST|NLM_F_ACK.
        #expect(hexText(ConntrackMessages.delete(flow).bytes) == hexText(hexBytes("""
            50000000 0201 0500 00000000 00000000
            02 00 0000
            3400 0180
              1400 0180 0800 0100 0a000002 0800 0200 0a000001
              1c00 0280 0500 0100 11000000 0600 0200 9c410000 0600 0300 14e90000
            0800 0c00 f6667147
            """)))
    }

    @Test func deleteOfAZonedFlowNamesTheZone() {
        var flow = ConntrackFlow(family: .ipv4, protocolNumber: 17, destinationPort: 5353,
                                 destination: IPAddress("10.0.0.1"), originalTuple: Self.originalTuple, id: nil, zone: 7)
        #expect(hexText(ConntrackMessages.delete(flow).bytes).hasSuffix("06001200" + "00070000"))
        flow.zone = nil
        #expect(ConntrackMessages.delete(flow).bytes.count == 16 + 4 + 52)
    }

    @Test func otherMessagesAreNotFlows() throws {
        #expect(try ConntrackMessages.parse(NetlinkMessage(bytes: Self.done(sequence: 1))) == nil)
    }

    /// The flows `deleteFlows` is answered with: two UDP flows to 10.0.0.1:5353, one
    /// UDP flow to 5354, one TCP flow to 5353 and a UDP flow to 192.0.2.53:5353.
    static func table(ids: [UInt32] = [1, 2, 3, 4, 5]) -> (UInt32) -> [[UInt8]] {
        { sequence in
            [dumpedFlow(sourcePort: 40001, destinationPort: 5353, id: ids[0], sequence: sequence)
                + dumpedFlow(sourcePort: 40002, destinationPort: 5354, id: ids[1], sequence: sequence)
                + dumpedFlow(proto: 6, sourcePort: 40003, destinationPort: 5353, id: ids[2], sequence: sequence),
             dumpedFlow(sourcePort: 40004, destinationPort: 5353, id: ids[3], sequence: sequence)
                + dumpedFlow(sourcePort: 40005, destinationPort: 5353, destination: "c0000235", id: ids[4],
                             sequence: sequence),
             done(sequence: sequence)]
        }
    }

    static let node = [IPNetwork(host: IPAddress("10.0.0.1")!)]

    static func deletedIDs(_ kernel: ScriptedKernel) throws -> [UInt32] {
        try kernel.sent.flatMap { datagram throws in try NetlinkMessage.split(datagram: datagram) }
            .filter { $0.type == ConntrackMessages.deleteType }
            .map { UInt32(bigEndian: $0.bytes.load(UInt32.self, at: $0.bytes.count - 4)) }
    }

    @Test func deletesOnlyTheMatchingFlowsAndDoesNotCountFlowsThatEndedMeanwhile() throws {
        let kernel = ScriptedKernel()
        kernel.dumpAnswers = [Self.table()]
        // The flow with id 4 ended between the dump and its delete.
        kernel.refuse = { message in
            message.bytes.suffix(4) == [0, 0, 0, 4] ? KernelReason(errno: 2) : nil
        }
        let deleted = try Conntrack(session: Netlink(transport: kernel)).deleteFlows(family: .ipv4, transport: .udp,
                                                                                    destinationPort: 5353, to: Self.node)
        #expect(deleted == 1)
        // Not 5: its destination, 192.0.2.53, is not among the given ones.
        #expect(try Self.deletedIDs(kernel) == [1, 4])
    }

    @Test func anotherRefusalIsThrownWithTheCommand() throws {
        let kernel = ScriptedKernel()
        kernel.dumpAnswers = [Self.table()]
        kernel.refuse = { _ in KernelReason(errno: 1) }
        #expect {
            try Conntrack(session: Netlink(transport: kernel)).deleteFlows(family: .ipv4, transport: .udp,
                                                                          destinationPort: 5353, to: Self.node)
        } throws: { error in
            guard case .failed(let command, nil, let cause) = error as? NetlinkOperationError else { return false }
            return command == "conntrack -D -f ipv4 -p udp --dport 5353 -d 10.0.0.1/32" && cause.kernelReason == KernelReason(errno: 1)
        }
    }
}
