import Foundation
import Testing
import PodNet
import PodNetCompiler

/// Each fixture's full render against rules/NAME.rules, byte for byte (see GoldenFile).
@Suite struct GoldenTests {
    @Test(arguments: Fixtures.names)
    func renderMatchesGoldenFile(fixture: String) throws {
        try GoldenFile.check(StateRenderer.render(try Fixtures.state(fixture)), against: Fixtures.goldenURL(fixture),
                             label: "rules/\(fixture).rules")
    }

    @Test func everyGoldenFileHasItsFixture() throws {
        let golden = try FileManager.default.contentsOfDirectory(atPath: Fixtures.rules.path)
            .filter { $0.hasSuffix(".rules") }.map { String($0.dropLast(".rules".count)) }
        #expect(Set(golden).subtracting(Fixtures.names).sorted() == [], "golden files left without a fixture")
    }

    @Test func theRequiredFixturesExist() {
        let required = ["ipv4-only", "ipv6-only", "dual-stack", "masquerade-off", "multiple-non-masquerade-cidrs",
                        "hairpin-veth", "hairpin-none", "forward-accept-off", "host-ports", "no-peers", "one-peer",
                        "many-peers", "pods", "from-nodelist"]
        #expect(Set(required).subtracting(Fixtures.names).sorted() == [])
    }
}
