import Testing
import PodNet
@testable import PodNetCompiler

@Suite struct TableBuilderTests {
    /// The packed-key sort gives ChainName's strcmp order, stably: names that are
    /// prefixes of others, differ past the first word or past 32 bytes, and duplicates
    /// (told apart by their rules) keep the order TableState.init would give them.
    @Test func strcmpOrderIsTableStateOrder() {
        let names = ["PODNET-HP-ZZZZ", "PODNET-HP-AAAA", "PODNET-HP-", "PODNET-HP-AAAA", "PODNET-HOSTPORTS",
                     "PODNET-HP-2AAA", "PODNET-POSTROUTING", "PODNET-PREROUTING", "PODNET-", "P",
                     "PODNET-HP-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-2", "PODNET-HP-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-1",
                     "PODNET-HP-AAAAAAAAAAAAAAAAAAAAAA", "PODNET-HP-AAAAAAAAAAAAAAAAAAAAAB", "PODNET-HP-a", "PODNET-HP-AAAA",
                     "PODNET-HP-AAAA\u{0}", "PODNET-HP-AAAAAAAAAAAAAAAAAA", "PODNET-HP-AAAAAAAAAAAAAAAAAB"]
        let chains = names.enumerated().map { index, name in
            Chain(name: ChainName(name), rules: [Rule(matches: [.comment("\(index)")], target: .accept)])
        }
        #expect(TableBuilder.inStrcmpOrder(chains) == TableState(id: TableID(.ipv4, .nat), chains: chains, jumps: []).chains)
    }

    /// A compiled table's chains come out in the order TableState.init sorts them in.
    @Test func builtTablesAreInTableStateOrder() throws {
        let mappings = (0..<200).map { index in
            HostPortMapping(podIP: TestConfigs.ip("10.244.1.\(index % 250 + 2)"), transport: index % 3 == 0 ? .udp : .tcp,
                            hostPort: UInt16(20000 + index), containerPort: 80)
        }
        let state = try Compiler.compile(TestConfigs.node([.ipv4], hostPorts: mappings))
        for table in state.tables {
            #expect(table.chains == TableState(id: table.id, chains: table.chains.reversed(), jumps: table.jumps).chains)
        }
    }

    /// Packing keeps names apart that differ only by trailing NULs, and refuses names
    /// past the kernel's 28 bytes.
    @Test func packedNames() {
        let plain = PackedChainName("PODNET-X")
        let withNul = PackedChainName("PODNET-X\u{0}")
        #expect(plain != nil && withNul != nil && plain != withNul && plain! < withNul!)
        #expect(PackedChainName("PODNET-HP-AAAAAAAAAAAAAAAAAA") != nil)   // 28 bytes
        #expect(PackedChainName("PODNET-HP-AAAAAAAAAAAAAAAAAAA") == nil)  // 29
        #expect(PackedChainName("PODNET-HP-AAAA") == PackedChainName(ChainName("PODNET-HP-" + "AAAA")))
        #expect(Set([PackedChainName("A"), PackedChainName("B"), PackedChainName("A")]).count == 2)
    }
}
