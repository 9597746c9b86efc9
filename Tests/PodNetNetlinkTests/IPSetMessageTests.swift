import Testing
import PodNet
@testable import PodNetNetlink

/// The ip_set requests byte for byte as `ipset` 7.17 sends them (strace -x of
/// `ipset create/add/del/swap/destroy/list`; the sequence number is left 0 here,
/// the session numbers each message when it sends it). Each expectation below is
/// that strace output, with the attributes on their own lines.
@Suite struct IPSetMessageTests {
    static func header(length: Int, command: UInt8, flags: UInt16) -> String {
        let length = hexText(withUnsafeBytes(of: UInt32(length)) { Array($0) })
        let flagText = hexText(withUnsafeBytes(of: flags) { Array($0) })
        return "\(length) \(hexText([command])) 06 \(flagText) 00000000 00000000  02 00 0000  0500 0100 07000000"
    }

    @Test func createHashIP() {
        // ipset create PODNET-T hash:ip family inet (revision 6 on this kernel)
        let message = IPSetMessages.create(IPSetState(name: "PODNET-T", type: .hashIP, family: .ipv4), revision: 6)
        #expect(hexText(message.bytes) == hexText(hexBytes(Self.header(length: 76, command: 2, flags: 0x0605) + """
            0d00 0200 504f444e45542d54 00000000
            0c00 0300 686173683a697000
            0500 0400 06000000
            0500 0500 02000000
            0400 0780
            """)))
    }

    @Test func createHashNetIPv6() {
        // ipset create PODNET-N hash:net family inet6 (revision 7)
        let message = IPSetMessages.create(IPSetState(name: "PODNET-N", type: .hashNet, family: .ipv6), revision: 7)
        #expect(hexText(message.bytes) == hexText(hexBytes(Self.header(length: 80, command: 2, flags: 0x0605) + """
            0d00 0200 504f444e45542d4e 00000000
            0d00 0300 686173683a6e6574 00000000
            0500 0400 07000000
            0500 0500 0a000000
            0400 0780
            """)))
    }

    @Test func typeQuery() {
        // the IPSET_CMD_TYPE that `ipset create ... hash:ip` sends first
        #expect(hexText(IPSetMessages.typeQuery(.hashIP, family: .ipv4).bytes) == hexText(hexBytes(
            Self.header(length: 48, command: 13, flags: 0x0001) + """
            0c00 0300 686173683a697000
            0500 0500 02000000
            """)))
    }

    @Test func addThreeHosts() {
        // `ipset restore` of "add T 10.244.2.7" (line 2), ".8", ".9": one message, the
        // first line number, then the entries in IPSET_ATTR_ADT, each with its line; no
        // prefix for a host
        let entries = ["10.244.2.7", "10.244.2.8", "10.244.2.9"].map { IPSetEntry(host: IPAddress($0)!) }
        let message = IPSetMessages.members(.add, "T", entries[...], firstLine: 2)
        #expect(hexText(message.bytes) == hexText(hexBytes(Self.header(length: 120, command: 9, flags: 0x0205) + """
            0600 0200 5400 0000
            0800 0940 00000002
            4c00 0880
              1800 0780  0c00 0180 0800 0140 0af40207  0800 0940 00000002
              1800 0780  0c00 0180 0800 0140 0af40208  0800 0940 00000003
              1800 0780  0c00 0180 0800 0140 0af40209  0800 0940 00000004
            """)))
    }

    @Test func deleteAHost() {
        // `ipset restore` of "del PODNET-T 10.244.2.7" (line 1)
        let message = IPSetMessages.members(.delete, "PODNET-T", [IPSetEntry(host: IPAddress("10.244.2.7")!)])
        #expect(hexText(message.bytes) == hexText(hexBytes(Self.header(length: 80, command: 10, flags: 0x0205) + """
            0d00 0200 504f444e45542d54 00000000
            0800 0940 00000001
            1c00 0880
              1800 0780  0c00 0180 0800 0140 0af40207  0800 0940 00000001
            """)))
    }

    @Test func createHashNetIfaceIPv6() {
        // ipset create PODNET-T hash:net,iface family inet6 (revision 8)
        let message = IPSetMessages.create(IPSetState(name: "PODNET-T", type: .hashNetIface, family: .ipv6), revision: 8)
        #expect(hexText(message.bytes) == hexText(hexBytes(Self.header(length: 84, command: 2, flags: 0x0605) + """
            0d00 0200 504f444e45542d54 00000000
            1300 0300 686173683a6e65742c6966616365 0000
            0500 0400 08000000
            0500 0500 0a000000
            0400 0780
            """)))
    }

    @Test func addAHostOnABridgePortAsNomatch() {
        // `ipset restore` of "add PODNET-S 10.244.1.5,physdev:veth1 nomatch": IPSET_FLAG_NOMATCH |
        // IPSET_FLAG_PHYSDEV, then the port (IPSET_ATTR_IFACE, 23); ipset sends a lone entry
        // without the ADT nest, which the kernel takes either way
        let entry = IPSetEntry(IPNetwork(host: IPAddress("10.244.1.5")!), nomatch: true, bridgePort: "veth1")
        let message = IPSetMessages.members(.add, "PODNET-S", [entry])
        #expect(hexText(message.bytes) == hexText(hexBytes(Self.header(length: 100, command: 9, flags: 0x0205) + """
            0d00 0200 504f444e45542d53 00000000
            0800 0940 00000001
            3000 0880
              2c00 0780  0c00 0180 0800 0140 0af40105  0800 0840 00000006  0a00 1700 7665746831 000000
                         0800 0940 00000001
            """)))
    }

    @Test func addANomatchNetwork() throws {
        // `ipset restore` of "add PODNET-N fd00::/64 nomatch": prefix, then IPSET_FLAG_NOMATCH in network order
        let entry = IPSetEntry(try IPNetwork(parsing: "fd00::/64"), nomatch: true)
        let message = IPSetMessages.members(.add, "PODNET-N", [entry])
        #expect(hexText(message.bytes) == hexText(hexBytes(Self.header(length: 108, command: 9, flags: 0x0205) + """
            0d00 0200 504f444e45542d4e 00000000
            0800 0940 00000001
            3800 0880
              3400 0780
                1800 0180 1400 0240 fd000000000000000000000000000000
                0500 0300 40000000
                0800 0840 00000004
                0800 0940 00000001
            """)))
    }

    @Test func theLargestEntriesFitTheirMessage() throws {
        // IPv6 networks with flags and the longest bridge port under the longest set name:
        // within the writer's buffer.
        let entries = (0..<IPSetMessages.entriesPerMessage).map { _ in
            IPSetEntry(try! IPNetwork(parsing: "fd00::/64"), nomatch: true, bridgePort: String(repeating: "v", count: 15))
        }
        let message = IPSetMessages.members(.add, String(repeating: "P", count: IPSetState.maximumNameLength),
                                            entries[...])
        #expect(message.bytes.count <= MessageWriter.capacity)
    }

    @Test func swapAndDestroy() {
        // ipset destroy PODNET-T
        #expect(hexText(IPSetMessages.destroy("PODNET-T").bytes) == hexText(hexBytes(
            Self.header(length: 44, command: 3, flags: 0x0205) + "0d00 0200 504f444e45542d54 00000000")))
        // ipset swap PODNET-T PODNET-U (IPSET_ATTR_SETNAME2 is attribute 3)
        #expect(hexText(IPSetMessages.swap("PODNET-T", "PODNET-U").bytes) == hexText(hexBytes(
            Self.header(length: 60, command: 6, flags: 0x0005)
                + "0d00 0200 504f444e45542d54 00000000  0d00 0300 504f444e45542d55 00000000")))
    }

    @Test func listRequest() {
        // ipset list: NLM_F_REQUEST|NLM_F_ACK|NLM_F_DUMP and the protocol only
        #expect(hexText(IPSetMessages.list().bytes) == hexText(hexBytes(Self.header(length: 28, command: 7, flags: 0x0305))))
        // ipset list -t: IPSET_ATTR_FLAGS (network order) IPSET_FLAG_LIST_HEADER
        #expect(hexText(IPSetMessages.list(headersOnly: true).bytes) == hexText(hexBytes(
            Self.header(length: 36, command: 7, flags: 0x0305) + "0800 0640 00000004")))
    }

    /// The two messages of the kernel's reply to `ipset list` (strace -x of recvmsg):
    /// a hash:ip set with 10.244.2.7, a hash:net set with 10.1.0.0/16 and
    /// 10.1.2.0/24 nomatch; each with its header data (hashsize, maxelem, ...).
    @Test func parsesAListDump() throws {
        let header = "08001240 00000400 08001340 00010000 05001500 0c000000 08001140 5ea1064b 08001940 00000000 "
            + "08001a40 00000100 08001840 00000001"
        let first = hexBytes("""
            a0000000 0706 0200 00000000 00000000  02 00 0000  0500 0100 07000000
            0d00 0200 504f444e45542d54 00000000  0c00 0300 686173683a697000
            0500 0500 02000000  0500 0400 06000000  0600 0b40 00000000
            3c00 0780 \(header)
            1400 0880  1000 0780 0c00 0180 0800 0100 0af40207
            """)
        let second = hexBytes("""
            cc000000 0706 0200 00000000 00000000  02 00 0000  0500 0100 07000000
            0d00 0200 504f444e45542d55 00000000  0d00 0300 686173683a6e6574 00000000
            0500 0500 02000000  0500 0400 07000000  0600 0b40 00010000
            3c00 0780 \(header)
            3c00 0880
              1800 0780 0c00 0180 0800 0100 0a010000 0500 0300 10000000
              2000 0780 0c00 0180 0800 0100 0a010200 0500 0300 18000000 0800 0840 00000004
            """)
        let sets = try IPSetMessages.sets(from: [NetlinkMessage(bytes: first), NetlinkMessage(bytes: second)])
        #expect(sets == [
            IPSetState(name: "PODNET-T", type: .hashIP, family: .ipv4, entries: [IPSetEntry(host: IPAddress("10.244.2.7")!)]),
            IPSetState(name: "PODNET-U", type: .hashNet, family: .ipv4, entries: [
                IPSetEntry(try IPNetwork(parsing: "10.1.0.0/16")),
                IPSetEntry(try IPNetwork(parsing: "10.1.2.0/24"), nomatch: true),
            ]),
        ])
    }

    @Test func ipsetErrorNumbersAreNamed() {
        let reason = IPSetMessages.explained(KernelReason(errno: 4100))
        #expect(reason.message == "ipset: the set is in use by a rule and cannot be destroyed")
        #expect(IPSetMessages.explained(KernelReason(errno: 2)).message == nil)
    }
}
