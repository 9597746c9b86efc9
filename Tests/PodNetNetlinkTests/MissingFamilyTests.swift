import Testing
import PodNet
@testable import PodNetNetlink

/// A kernel booted with ipv6.disable=1 has no IPv6 rtnetlink handlers: it refuses an
/// IPv6 dump with EAFNOSUPPORT, or answers it as an AF_UNSPEC dump, with the families
/// it has. Either way the node holds no IPv6 route or address.
@Suite struct MissingFamilyTests {
    static let ipv4Route = RouteState(destination: try! IPNetwork(parsing: "10.244.2.0/24"),
                                      gateway: IPAddress("198.18.0.11")!, table: 254, proto: 111)

    /// A message of a dump reply: `request`'s bytes as a multipart answer with `sequence`.
    static func dumpReply(_ message: NetlinkMessage, sequence: UInt32) -> [UInt8] {
        var bytes = message.bytes
        bytes.replaceSubrange(6..<8, with: withUnsafeBytes(of: UInt16(2)) { Array($0) })  // NLM_F_MULTI
        bytes.replaceSubrange(8..<12, with: withUnsafeBytes(of: sequence) { Array($0) })
        return bytes
    }

    static func done(sequence: UInt32) -> [UInt8] {
        ScriptedKernel.header(length: 20, type: 3, flags: 2, sequence: sequence) + [0, 0, 0, 0]
    }

    @Test func anIPv6RouteDumpAnsweredWithIPv4RoutesHoldsNoRoute() throws {
        let kernel = ScriptedKernel()
        kernel.dumpAnswers = [{ [Self.dumpReply(RouteMessages.write(Self.ipv4Route, .add), sequence: $0)
                                 + Self.done(sequence: $0)] }]
        #expect(try Netlink(transport: kernel).routes(family: .ipv6, table: 254, proto: 111) == [])
    }

    @Test func anIPv6RouteDumpRefusedWithEAFNOSUPPORTHoldsNoRoute() throws {
        let kernel = ScriptedKernel()
        kernel.dumpAnswers = [{ sequence in
            let error = withUnsafeBytes(of: Int32(-97)) { Array($0) }
                + ScriptedKernel.header(length: 28, type: 26, flags: 0x301, sequence: sequence)
            return [ScriptedKernel.header(length: 16 + error.count, type: 2, flags: 0x100, sequence: sequence) + error]
        }]
        #expect(try Netlink(transport: kernel).routes(family: .ipv6, table: 254, proto: 111) == [])
    }
}
