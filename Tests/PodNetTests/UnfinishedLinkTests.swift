import Testing
@testable import PodNet

@Suite struct UnfinishedLinkTests {
    @Test func temporaryNamesFitTheKernelAndAreRecognised() {
        for name in ["cbr0", "vethc4719afa", "a-bridge-of-15c"] {
            let temporary = UnfinishedLink.temporaryName(for: name)
            #expect(temporary.hasPrefix("podnet-"))
            #expect(temporary.utf8.count == 15, "IFNAMSIZ is 16 with the NUL: \(temporary)")
            #expect(UnfinishedLink.isTemporaryName(temporary))
            #expect(!UnfinishedLink.isTemporaryName(name))
        }
        // One per object: the names of two links never share a temporary name here.
        #expect(UnfinishedLink.temporaryName(for: "cbr0") != UnfinishedLink.temporaryName(for: "cbr1"))
        #expect(UnfinishedLink.temporaryName(for: "cbr0") == "podnet-" + FNV1a.hexDigest("cbr0", digits: 8))
    }

    @Test func onlyAnUnmarkedBridgeOrVethUnderATemporaryNameIsUnfinished() {
        let temporary = UnfinishedLink.temporaryName(for: "cbr0")
        #expect(UnfinishedLink.isUnfinished(name: temporary, kind: "bridge", alias: nil))
        #expect(UnfinishedLink.isUnfinished(name: temporary, kind: "veth", alias: nil))
        // Marked: complete (a user may name a bridge like this), or someone else's.
        #expect(!UnfinishedLink.isUnfinished(name: temporary, kind: "bridge", alias: BridgeState.ownershipAlias))
        #expect(!UnfinishedLink.isUnfinished(name: temporary, kind: "veth", alias: "theirs"))
        // Not a kind podnet makes.
        #expect(!UnfinishedLink.isUnfinished(name: temporary, kind: "dummy", alias: nil))
        #expect(!UnfinishedLink.isUnfinished(name: temporary, kind: nil, alias: nil))
        // Names that only look alike.
        for name in ["podnet-", "podnet-1234567", "podnet-123456789", "podnet-ABCDEF12", "podnet-1234567g", "xodnet-12345678"] {
            #expect(!UnfinishedLink.isUnfinished(name: name, kind: "veth", alias: nil), "\(name)")
        }
    }
}
