import Testing
import PodNet
import PodNetTestSupport
@testable import PodNetNetlink

@Suite struct NftablesProbeTests {
    @Test func tableDumpRequestBytes() {
        // As `nft list tables` sends it: NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE,
        // NLM_F_REQUEST|NLM_F_DUMP, nfgenmsg { NFPROTO_UNSPEC, NFNETLINK_V0, res_id 0 }.
        #expect(hexText(NftablesMessages.dumpTables().bytes) == hexText(hexBytes("""
            14000000 010a 0103 00000000 00000000
            00 00 0000
            """)))
    }

    @Test func parsesADumpedTable() throws {
        // The kernel's answer (seen with strace) after `iptables-nft -A FORWARD -j ACCEPT`:
        // NFT_MSG_NEWTABLE for family NFPROTO_IPV4, res_id the generation; name, use, handle, flags.
        let reply = NetlinkMessage(bytes: hexBytes("""
            3c000000 000a 0200 00000000 b0180000
            02 00 0002
            0b00 0100 66696c74 657200 00
            0800 0300 00000001
            0c00 0400 00000000 00000001
            0800 0200 00000000
            """))
        #expect(try NftablesMessages.parseTable(reply) == "ip filter")
        #expect([1, 2, 3, 5, 7, 10].map(NftablesMessages.familyName)
                == ["inet", "ip", "arp", "netdev", "bridge", "ip6"])
    }

    /// `nft list tables` in the namespace, as "FAMILY NAME" lines.
    static func nftTables(_ ns: TestNamespace) throws -> [String] {
        try ns.run(["nft", "list", "tables"]).split(separator: "\n").map { line in
            line.hasPrefix("table ") ? String(line.dropFirst("table ".count)) : String(line)
        }
    }

    @Test(.enabled(if: KernelTest.enabled))
    func reportsTheTablesIptablesNftAndNftCreate() throws {
        let ns = try TestNamespace()
        defer { ns.delete() }
        let probe = try NftablesProbe(namespace: ns.namespace)
        #expect(try probe.tableNames() == [])
        #expect(try Self.nftTables(ns) == [])

        // Debian's `iptables` is this binary: its rules live in the nftables table "ip filter".
        try ns.run(["iptables-nft", "-A", "FORWARD", "-j", "ACCEPT"])
        #expect(try probe.tableNames() == ["ip filter"])

        try ns.run(["nft", "add", "table", "inet", "foo"])
        try ns.run(["ip6tables-nft", "-t", "nat", "-A", "POSTROUTING", "-j", "ACCEPT"])
        let names = try probe.tableNames()
        #expect(Set(names) == ["ip filter", "inet foo", "ip6 nat"])
        #expect(names == (try Self.nftTables(ns)))
    }
}
