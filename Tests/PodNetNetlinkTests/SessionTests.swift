import Testing
import PodNet
@testable import PodNetNetlink

@Suite struct SessionTests {
    static func messages(_ count: Int) -> [NetlinkMessage] {
        (0..<count).map { index in
            RouteMessages.write(RouteState(destination: IPNetwork(network: IPAddress(ipv4: 0x0A00_0000 | UInt32(index) << 8),
                                                                  prefixLength: 24),
                                           gateway: IPAddress("192.168.1.2")!, table: 254, proto: 111), .add)
        }
    }

    @Test func batchesAreSentInChunksWithinTheLimitAndAllAcknowledged() throws {
        let kernel = ScriptedKernel()
        let netlink = Netlink(transport: kernel, chunkBytes: 4096)
        let outcomes = try netlink.batch(Self.messages(1000))
        #expect(outcomes == Array(repeating: .applied, count: 1000))
        // 52-byte messages: 78 per 4 KiB chunk.
        #expect(kernel.sent.count == 13)
        #expect(kernel.sent.allSatisfy { $0.count <= 4096 })
        let messages = try kernel.sent.map { datagram throws in try NetlinkMessage.split(datagram: datagram) }
        #expect(messages.joined().map(\.sequence) == Array(1...1000))
        // Only each chunk's first and last messages ask for an acknowledgement (NLM_F_ACK,
        // 0x4): the others are answered only if refused.
        #expect(messages.allSatisfy { chunk in
            chunk.dropFirst().dropLast().allSatisfy { $0.flags & 0x4 == 0 }
                && chunk.first!.flags & 0x4 != 0 && chunk.last!.flags & 0x4 != 0
        })
    }

    @Test func refusalsAreMatchedToTheirMessageWithTheKernelsText() throws {
        let kernel = ScriptedKernel()
        kernel.refuse = { message in
            message.sequence == 3 ? KernelReason(errno: 101, message: "Nexthop has invalid gateway") : nil
        }
        // A reply to some earlier request, still queued, matches nothing.
        kernel.inject(ScriptedKernel.acknowledgement(of: NetlinkMessage(bytes: [UInt8](repeating: 0, count: 16)),
                                                     refusal: KernelReason(errno: 17)))
        let outcomes = try Netlink(transport: kernel).batch(Self.messages(5))
        #expect(outcomes == [.applied, .applied, .refused(KernelReason(errno: 101, message: "Nexthop has invalid gateway")),
                             .applied, .applied])
        #expect(KernelReason(errno: 101, message: "Nexthop has invalid gateway").description
                == "Nexthop has invalid gateway (Network is unreachable)")
    }

    /// A refusal can be dropped too: after an overrun, a message of the chunk that drew no
    /// answer may have been refused, so it is lost (re-read by the caller), not applied.
    @Test func anOverrunMarksTheUnansweredMessagesLostAndTheNextChunkGoesOn() throws {
        let kernel = ScriptedKernel()
        kernel.bufferedReplies = 10
        kernel.refuse = { message in message.sequence <= 30 ? KernelReason(errno: 17) : nil }
        let netlink = Netlink(transport: kernel, chunkBytes: 52 * 50)
        let outcomes = try netlink.batch(Self.messages(60))
        #expect(Array(outcomes[0..<10]) == Array(repeating: .refused(KernelReason(errno: 17)), count: 10))
        #expect(Array(outcomes[10..<50]) == Array(repeating: .lost, count: 40))
        #expect(Array(outcomes[50...]) == Array(repeating: .applied, count: 10))
    }

    @Test func aSingleRequestThrowsTheKernelsReason() throws {
        let kernel = ScriptedKernel()
        kernel.refuse = { _ in KernelReason(errno: 17, message: nil) }
        #expect(throws: NetlinkError.kernel(type: 24, sequence: 1, reason: KernelReason(errno: 17))) {
            try Netlink(transport: kernel).perform(Self.messages(1)[0])
        }
    }

    /// A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is read again.
    @Test func anInterruptedDumpIsRepeated() throws {
        let kernel = ScriptedKernel()
        let route = try #require(Self.messages(2).last)
        func answer(flags: UInt16) -> (UInt32) -> [[UInt8]] {
            { sequence in
                let body = Array(route.bytes[16...])
                return [ScriptedKernel.header(length: 16 + body.count, type: 24, flags: 2 | flags, sequence: sequence) + body
                        + ScriptedKernel.header(length: 20, type: 3, flags: 2 | flags, sequence: sequence) + [0, 0, 0, 0]]
            }
        }
        kernel.dumpAnswers = [answer(flags: 0x10), answer(flags: 0)]
        let routes = try Netlink(transport: kernel).routes(family: .ipv4, table: 254)
        #expect(kernel.sent.count == 2)
        #expect(routes.map(\.destination) == [try IPNetwork(parsing: "10.0.1.0/24")])
    }

    /// Without NETLINK_CAP_ACK the whole request is echoed; the text follows it.
    @Test func anUncappedErrorReplyIsReadPastTheEchoedRequest() throws {
        let request = Self.messages(1)[0]
        let text = Array("Nexthop has invalid gateway".utf8) + [0]
        let payload = withUnsafeBytes(of: Int32(-101)) { Array($0) } + request.bytes
            + withUnsafeBytes(of: UInt16(4 + text.count)) { Array($0) } + [1, 0] + text
        let reply = NetlinkMessage(bytes: ScriptedKernel.header(length: 16 + payload.count, type: 2, flags: 0x200,
                                                                 sequence: 0) + payload)
        #expect(try Acknowledgement(errorReply: reply)
                == .refused(KernelReason(errno: 101, message: "Nexthop has invalid gateway")))
    }

    @Test func truncatedRepliesAreMalformed() {
        #expect(throws: NetlinkError.self) {
            try NetlinkMessage.split(datagram: ScriptedKernel.header(length: 40, type: 2, flags: 0, sequence: 1))
        }
    }
}
