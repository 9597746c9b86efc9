import Testing
import PodNet
@testable import PodNetNetlink

@Suite struct LinkMessageTests {
    @Test func bridgeCreateBytes() {
        let message = LinkMessages.createBridge(name: "cbr0", mtu: 1460,
                                                macAddress: MACAddress(bytes: [0x02, 0x42, 0x0a, 0xf4, 0x01, 0x01]))
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            50000000 1000 0506 00000000 00000000
            00 00 0000 00000000 00000000 00000000
            0900 0300 63627230 00000000
            0800 0400 b4050000
            0a00 0100 02420af40101 0000
            1000 1280 0b00 0100 627269646765 0000
            """)))
    }

    @Test func vethWithPeerInAnotherNamespaceBytes() {
        let message = LinkMessages.createVeth(name: "veth0a1b2c3d", peerName: "eth0", mtu: 1500, peerNamespaceFD: 9)
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            80000000 1000 0506 00000000 00000000
            00 00 0000 00000000 00000000 00000000
            1100 0300 766574683061316232633364 00000000
            0800 0400 dc050000
            4400 1280
              0900 0100 7665746800000000
              3400 0280
                3000 0180
                  00 00 0000 00000000 00000000 00000000
                  0900 0300 6574683000000000
                  0800 0400 dc050000
                  0800 1c00 09000000
            """)))
    }

    /// The pod end's fixed MAC: IFLA_ADDRESS (1) inside the peer's attributes.
    @Test func vethWithPeerMACAddressBytes() {
        let mac = MACAddress(bytes: [0x02, 0x11, 0x22, 0x33, 0x44, 0x55])
        let message = LinkMessages.createVeth(name: "veth0a1b2c3d", peerName: "eth0", mtu: 1500, peerNamespaceFD: 9,
                                              peerMACAddress: mac)
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            8c000000 1000 0506 00000000 00000000
            00 00 0000 00000000 00000000 00000000
            1100 0300 766574683061316232633364 00000000
            0800 0400 dc050000
            5000 1280
              0900 0100 7665746800000000
              4000 0280
                3c00 0180
                  00 00 0000 00000000 00000000 00000000
                  0900 0300 6574683000000000
                  0800 0400 dc050000
                  0a00 0100 021122334455 0000
                  0800 1c00 09000000
            """)))
    }

    @Test func linkSetUpPromiscAndAliasBytes() {
        let message = LinkMessages.set(index: 5, LinkChanges(alias: "podnet", up: true, promiscuous: false))
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            2c000000 1000 0500 00000000 00000000
            00 00 0000 05000000 01000000 01010000
            0b00 1400 706f646e65740000
            """)))
    }

    /// A pod's host end is named, marked, enslaved and brought up by one message: the
    /// name (IFLA_IFNAME on an existing index is a rename), alias, master and IFF_UP.
    @Test func renameMarkMasterAndUpInOneMessage() {
        let message = LinkMessages.set(index: 5, LinkChanges(name: "veth1", alias: "p", masterIndex: 3, up: true))
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            3c000000 1000 0500 00000000 00000000
            00 00 0000 05000000 01000000 01000000
            0a00 0300 7665746831000000
            0600 1400 70000000
            0800 0a00 03000000
            """)))
    }

    @Test func hairpinBytes() {
        let message = LinkMessages.setHairpin(index: 7, true)
        #expect(hexText(message.bytes) == hexText(hexBytes("""
            44000000 1000 0500 00000000 00000000
            00 00 0000 07000000 00000000 00000000
            2400 1280
              1100 0100 6272696467655f736c617665 00000000
              0c00 0580 0500 0400 01000000
            """)))
    }

    @Test func addressAddBytes() {
        let v4 = AddressMessages.add(IPAddress("10.244.1.1")!, prefixLength: 24, index: 7, skipDuplicateDetection: false)
        #expect(hexText(v4.bytes) == hexText(hexBytes("""
            28000000 1400 0506 00000000 00000000
            02 18 00 00 07000000
            0800 0200 0af40101
            0800 0100 0af40101
            """)))
        let v6 = AddressMessages.add(IPAddress("fd00::1")!, prefixLength: 64, index: 7, skipDuplicateDetection: true)
        #expect(hexText(v6.bytes) == hexText(hexBytes("""
            40000000 1400 0506 00000000 00000000
            0a 40 02 00 07000000
            1400 0200 fd000000000000000000000000000001
            1400 0100 fd000000000000000000000000000001
            """)))
    }

    @Test func podMarkerRoundTrips() {
        let marker = PodMarker(podName: "default/web-0", specDigest: "0123456789abcdef")
        #expect(marker.alias == "podnet: pod 0123456789abcdef default/web-0")
        #expect(PodMarker(alias: marker.alias) == marker)
        #expect(PodMarker(alias: BridgeState.ownershipAlias) == nil)
        #expect(PodMarker(alias: nil) == nil)
    }
}
