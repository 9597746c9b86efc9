import Testing
@testable import PodNet

/// Built-in chain names and positions, which the compiler's tables and bit sets index by.
@Suite struct ChainNameTests {
    @Test func positionIsTheIndexInHookOrder() {
        #expect(BuiltinChain.allCases.map(\.position) == Array(BuiltinChain.allCases.indices))
    }

    @Test func builtinChainsAreRecognisedByNameOnly() {
        for chain in BuiltinChain.allCases {
            #expect(BuiltinChain(chainName: chain.rawValue) == chain)
            #expect(ChainName(chain.rawValue).isBuiltin)
        }
        for name in ["", "input", "INPUTS", "KUBE-SERVICES", "PODNET-FORWARD", "POSTROUTING2", "FORWARD "] {
            #expect(BuiltinChain(chainName: name) == nil, "\(name)")
        }
    }

    @Test func namesSortInStrcmpOrder() {
        let names = ["PODNET-HP-B", "PODNET-HP-A", "PODNET-HP", "KUBE-SVC-1", "PODNET-HP-AB", "A"]
        let sorted = names.map { ChainName($0) }.sorted().map(\.rawValue)
        #expect(sorted == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    }
}
