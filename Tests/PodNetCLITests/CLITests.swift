import Foundation
import Testing
import PodNetTestSupport

/// The podnet binary as a user runs it: exit statuses, stderr messages, stdout.
@Suite struct CLITests {
    @Test func everyInvalidFixtureExits65NamingFileAndFieldPath() throws {
        let invalid = try FileManager.default.contentsOfDirectory(atPath: Fixtures.root + "/fixtures/invalid")
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }
            .filter { !$0.hasSuffix(".nodes.json") }
            .sorted()
        #expect(invalid.count >= 20, "expected the bad-input fixtures of issue 2 section 4")
        for name in invalid {
            let path = Fixtures.root + "/fixtures/invalid/" + name
            var arguments = ["validate", "-f", path]
            let nodes = path.replacingOccurrences(of: ".yaml", with: ".nodes.json")
            let hasNodeList = name.hasSuffix(".yaml") && FileManager.default.fileExists(atPath: nodes)
            if hasNodeList { arguments += ["--nodes", nodes] }
            let result = try PodNetBinary.run(arguments)
            #expect(result.status == 65, "\(name): exit \(result.status), stderr: \(result.stderr)")
            #expect(result.stderr.contains("error: "), "\(name): \(result.stderr)")
            // The message names the file the problem is in: the config or its NodeList.
            let namesFile = result.stderr.contains(path) || (hasNodeList && result.stderr.contains(nodes))
            #expect(namesFile, "\(name): the message must name the file: \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(name): nothing on stdout for invalid input")
        }
    }

    @Test func validFixturesValidateAndRenderTheirGoldenFile() throws {
        for fixture in try Fixtures.valid() {
            let validate = try PodNetBinary.run(["validate"] + fixture.arguments)
            #expect(validate.status == 0, "\(fixture.name): \(validate.stderr)")
            let render = try PodNetBinary.run(["render"] + fixture.arguments)
            #expect(render.status == 0, "\(fixture.name): \(render.stderr)")
            let golden = try String(contentsOfFile: Fixtures.root + "/rules/\(fixture.name).rules", encoding: .utf8)
            #expect(render.stdout == golden, "\(fixture.name): podnet render differs from rules/\(fixture.name).rules")
        }
    }

    @Test func nodeListFromStdin() throws {
        let fixture = Fixtures.root + "/fixtures/from-nodelist"
        let nodes = try String(contentsOfFile: fixture + ".nodes.json", encoding: .utf8)
        let result = try PodNetBinary.run(["render", "-f", fixture + ".yaml", "--nodes", "-"], stdin: nodes)
        #expect(result.status == 0, "\(result.stderr)")
        let golden = try String(contentsOfFile: Fixtures.root + "/rules/from-nodelist.rules", encoding: .utf8)
        #expect(result.stdout == golden)
    }

    /// A dual-stack peer in the NodeList with one InternalIP: a warning on stderr naming
    /// the peer and the family, exit 0, and the route of the other family rendered.
    @Test func nodeListPeerWithOneInternalIPIsAWarningAndKeepsItsOtherRoute() throws {
        let config = "node: {name: node-a, podCIDRs: [10.244.1.0/24, \"fd00:10:244:1::/64\"]}\n"
            + "cluster: {podCIDRs: [10.244.0.0/16, \"fd00:10:244::/56\"]}\n"
        let nodes = """
            {"items": [{"metadata": {"name": "node-b"},
                        "spec": {"podCIDRs": ["10.244.2.0/24", "fd00:10:244:2::/64"]},
                        "status": {"addresses": [{"type": "InternalIP", "address": "198.18.0.11"}]}}]}
            """
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-cli-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try config.write(toFile: directory + "/node.yaml", atomically: true, encoding: .utf8)
        try nodes.write(toFile: directory + "/nodes.json", atomically: true, encoding: .utf8)
        let result = try PodNetBinary.run(["render", "-f", directory + "/node.yaml", "--nodes", directory + "/nodes.json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: \(directory)/nodes.json:1:12: items[0].status.addresses: node node-b reports "
            + "no IPv6 InternalIP: its IPv6 pod CIDR fd00:10:244:2::/64 is not routed; routed: 10.244.2.0/24 via 198.18.0.11"),
            "\(result.stderr)")
        // Through node-b's nexthop object (IPv4), whose gateway is its one InternalIP.
        #expect(result.stdout.contains("ip nexthop replace id 1293165720 via 198.18.0.11 dev auto proto 111\n"
            + "# routes\nip route replace 10.244.2.0/24 nhid 1293165720 proto 111\n"), "\(result.stdout)")
        #expect(!result.stdout.contains("fd00:10:244:2::/64"), "\(result.stdout)")
    }

    @Test func usageErrorsExit64() throws {
        #expect(try PodNetBinary.run(["render"]).status == 64)
        #expect(try PodNetBinary.run(["render", "-f", "x.yaml", "--iptables", "ipv5"]).status == 64)
        #expect(try PodNetBinary.run(["no-such-command"]).status == 64)
    }

    @Test func missingConfigFileIsInvalidInputNamingThePath() throws {
        let result = try PodNetBinary.run(["validate", "-f", "/nonexistent/node.yaml"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("/nonexistent/node.yaml"))
    }

    @Test func iptablesRenderIsRestoreInputPerFamily() throws {
        let fixture = Fixtures.root + "/fixtures/dual-stack.yaml"
        for family in ["ipv4", "ipv6"] {
            let result = try PodNetBinary.run(["render", "-f", fixture, "--iptables", family])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("*nat\n"))
            #expect(result.stdout.hasSuffix("COMMIT\n"))
            // Built-in chains keep their policies: only podnet's chains are declared.
            let declarations = result.stdout.split(separator: "\n").filter { $0.hasPrefix(":") }
            #expect(!declarations.isEmpty)
            #expect(declarations.allSatisfy { $0.hasPrefix(":PODNET-") }, "\(declarations)")
        }
    }

    @Test func helpShowsExamples() throws {
        for command in [["--help"], ["render", "--help"], ["validate", "--help"]] {
            let result = try PodNetBinary.run(command)
            #expect(result.status == 0)
            #expect(result.stdout.contains("Examples:"), "\(command)")
        }
    }
}
