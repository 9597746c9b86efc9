import Testing
@testable import PodNetConfig

@Suite struct DiagnosticTests {
    @Test func descriptionIsFileLineColumnPathMessage() {
        let full = ConfigDiagnostic(file: "node.yaml", fieldPath: "peers[2].podCIDRs[0]", line: 14, column: 7,
                                    message: "\"10.244.2.5/24\" has host bits set (did you mean 10.244.2.0/24?)")
        #expect(full.description
            == "node.yaml:14:7: peers[2].podCIDRs[0]: \"10.244.2.5/24\" has host bits set (did you mean 10.244.2.0/24?)")
        #expect(ConfigDiagnostic(file: "nodes.json", fieldPath: "items[3]", message: "m").description == "nodes.json: items[3]: m")
        #expect(ConfigDiagnostic(file: "node.yaml", fieldPath: "", line: 3, column: 1, message: "m").description
            == "node.yaml:3:1: m")
    }

    @Test func errorDescriptionIsOneLinePerProblem() {
        let error = ConfigError(diagnostics: [
            ConfigDiagnostic(file: "a.yaml", fieldPath: "x", line: 1, column: 1, message: "one"),
            ConfigDiagnostic(file: "a.yaml", fieldPath: "y", line: 2, column: 1, message: "two"),
        ])
        #expect(error.description == "a.yaml:1:1: x: one\na.yaml:2:1: y: two")
    }

    /// By file in the order first mentioned, then by line and column; unknown
    /// positions last; the same problem once.
    @Test func orderedByFileThenPosition() {
        func diagnostic(_ file: String, _ line: Int?, _ column: Int?) -> ConfigDiagnostic {
            ConfigDiagnostic(file: file, fieldPath: "", line: line, column: column, message: "\(file) \(line ?? 0)")
        }
        let ordered = Diagnostics.ordered([
            diagnostic("node.yaml", 9, 1), diagnostic("nodes.json", 2, 1), diagnostic("node.yaml", nil, nil),
            diagnostic("node.yaml", 3, 5), diagnostic("node.yaml", 3, 2), diagnostic("node.yaml", 9, 1),
        ])
        #expect(ordered.map { "\($0.file):\($0.line ?? 0):\($0.column ?? 0)" }
            == ["node.yaml:3:2", "node.yaml:3:5", "node.yaml:9:1", "node.yaml:0:0", "nodes.json:2:1"])
        let configFirst = Diagnostics.ordered([diagnostic("nodes.json", 2, 1), diagnostic("node.yaml", 9, 1)],
                                              files: ["node.yaml", "nodes.json"])
        #expect(configFirst.map(\.file) == ["node.yaml", "nodes.json"])
    }

    @Test func fieldPathsJoinKeysAndIndexes() {
        #expect(FieldPath.root.description == "")
        #expect(FieldPath.root.appending("peers").appending(index: 2).appending("podCIDRs").appending(index: 0).description
            == "peers[2].podCIDRs[0]")
    }

    @Test(arguments: [
        ("masqurade", "masquerade"), ("hairpinmode", "hairpinMode"), ("podCIDR", "podCIDRs"), ("nodeIP", "nodeIPs"),
        ("colour", nil), ("x", nil),
    ] as [(String, String?)])
    func nearestNameIsATypoAwayOrNothing(_ text: String, _ expected: String?) {
        let keys = ["masquerade", "hairpinMode", "podCIDRs", "nodeIPs", "name", "mtu"]
        #expect(NearestName.suggestion(for: text, among: keys) == expected)
    }

    @Test func dnsSubdomainNames() {
        for valid in ["node-a", "a", "0", "a--b", "1.2", "ip-10-0-0-1.ec2.internal", String(repeating: "a", count: 253)] {
            #expect(NameRules.dnsSubdomainProblem(valid) == nil, "\(valid)")
        }
        for invalid in ["", "Node-A", "-a", "a-", "a..b", "a_b", ".a", "a.", "a-.b", "a.-b", "a b", "é", String(repeating: "a", count: 254)] {
            #expect(NameRules.dnsSubdomainProblem(invalid) != nil, "\(invalid)")
        }
        #expect(NameRules.dnsSubdomainProblem("Node-A")?.hasSuffix("(did you mean node-a?)") == true)
    }

    @Test func interfaceNames() {
        for valid in ["cbr0", "br-pods", "a", "fifteen-chars-x", "br.100"] {
            #expect(NameRules.interfaceNameProblem(valid) == nil, "\(valid)")
        }
        for invalid in ["", ".", "..", "sixteen-chars-xx", "br/0", "br:0", "br 0", "br\t0"] {
            #expect(NameRules.interfaceNameProblem(invalid) != nil, "\(invalid)")
        }
    }

    @Test func netnsPaths() throws {
        #expect(try NameRules.netnsPath("web-1").get() == "/run/netns/web-1")
        #expect(try NameRules.netnsPath("/proc/123/ns/net").get() == "/proc/123/ns/net")
        for invalid in ["", ".", "..", "netns/web-1"] {
            #expect(throws: NameRules.NetnsPathProblem.self) { try NameRules.netnsPath(invalid).get() }
        }
    }

    private func readString(_ json: String) throws(JSONScanner.SyntaxError) -> String {
        try readString(bytes: Array(json.utf8))
    }

    private func readString(bytes: [UInt8]) throws(JSONScanner.SyntaxError) -> String {
        try bytes.withUnsafeBufferPointer { bytes throws(JSONScanner.SyntaxError) in
            var scanner = JSONScanner(bytes)
            return try scanner.readString()
        }
    }

    @Test func jsonEscapesIncludingSurrogatePairsAreDecoded() throws {
        #expect(try readString(#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#) == "a\"b\\c/d\né😀")
        #expect(throws: JSONScanner.SyntaxError.self) { try readString(#""\ud83d x""#) }
        #expect(throws: JSONScanner.SyntaxError.self) { try readString(bytes: [0x22, 0xFF, 0x22]) }
    }
}
