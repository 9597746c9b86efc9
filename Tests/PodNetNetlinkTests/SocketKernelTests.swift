import Testing
import PodNet
import PodNetTestSupport
@testable import PodNetNetlink

/// Records what the kernel sends on a real socket.
final class RecordingTransport: NetlinkTransport {
    let socket: NetlinkSocket
    private(set) var received: [NetlinkMessage] = []

    init(_ socket: NetlinkSocket) { self.socket = socket }

    func send(_ datagram: [UInt8]) throws(NetlinkError) { try socket.send(datagram) }

    func receive() throws(NetlinkError) -> [UInt8] {
        let datagram = try socket.receive()
        received += try NetlinkMessage.split(datagram: datagram)
        return datagram
    }

    func receiveQueued() throws(NetlinkError) -> [UInt8]? {
        let datagram = try socket.receiveQueued()
        if let datagram { received += try NetlinkMessage.split(datagram: datagram) }
        return datagram
    }
}

/// The socket options NETLINK.md relies on, seen in what the kernel answers.
@Suite struct SocketKernelTests {
    @Test(.enabled(if: KernelTest.enabled))
    func acknowledgementsAreCappedAndCarryTheReasonAndDumpsAreFilteredByTheKernel() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        try makeUplink(in: ns)
        try runCommand(["ip", "-n", ns.name, "route", "add", "10.7.0.0/24", "via", "192.168.1.2", "proto", "static"])
        let recorder = RecordingTransport(try NetlinkSocket(namespace: ns.namespace))
        let netlink = Netlink(transport: recorder)
        let good = RouteKernelTests.route("10.1.0.0/24", via: "192.168.1.2")
        let bad = RouteKernelTests.route("10.2.0.0/24", via: "10.99.0.1")
        let silent = RouteKernelTests.route("10.4.0.0/24", via: "192.168.1.2")
        let alsoGood = RouteKernelTests.route("10.3.0.0/24", via: "192.168.1.2")
        #expect(try netlink.batch([good, silent, bad, alsoGood].map { RouteMessages.write($0, .add) })
                == [.applied, .applied, .refused(KernelReason(errno: 101, message: "Nexthop has invalid gateway")), .applied])

        // Only the refusal and the chunk's first and last messages (the ones asking for an
        // acknowledgement) are answered: the kernel is silent on a success without NLM_F_ACK.
        let acknowledgements = recorder.received.filter { $0.type == 2 }
        #expect(acknowledgements.map(\.sequence) == [1, 3, 4])
        // NETLINK_CAP_ACK: only the request's 16-byte header is echoed (NLM_F_CAPPED).
        #expect(acknowledgements.last?.bytes.count == 36)
        #expect(acknowledgements.allSatisfy { $0.flags & 0x100 != 0 })
        // NETLINK_EXT_ACK: the refusal carries its text (NLM_F_ACK_TLVS).
        #expect(acknowledgements.dropFirst().first.map { $0.flags & 0x200 != 0 } == true)

        // NETLINK_GET_STRICT_CHK: the kernel itself leaves out other protocols.
        let before = recorder.received.count
        _ = try netlink.routes(family: .ipv4, table: 254, proto: 111)
        let dumped = try recorder.received[before...].compactMap { try RouteMessages.parse($0) }
        #expect(Set(dumped.map(\.destination)) == Set([good, silent, alsoGood].map(\.destination)))
    }
}
