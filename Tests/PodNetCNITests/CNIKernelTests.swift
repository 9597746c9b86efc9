import Foundation
import PodNetConfig
import PodNetTestSupport
import Testing

/// The binary driven as libcni drives it, on the real kernel: every verb in every
/// version, bad input, addresses, host ports, DEL's corner cases, CHECK's drift, GC,
/// parallel ADDs and the node model.
@Suite(.serialized, .enabled(if: KernelTest.enabled)) struct CNIKernelTests {
    static let echo = Fixtures.root + "/Tests/e2e/echo.py"

    private func expectNoLeftovers(_ lab: CNILab, _ comment: Comment? = nil) throws {
        #expect(try lab.podLeftovers() == [], comment)
        #expect(lab.records() == [], comment)
    }

    @Test func everyVerbInEveryVersion() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        for version in ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] {
            let cni = lab.driver(version: version)
            let info = try cni.versionInfo()
            #expect(info.status == 0)
            #expect(info.json?["supportedVersions"]?.arrayValue?.compactMap(\.stringValue)
                == ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])

            let pod = try lab.pod()
            let id = "c" + version.replacingOccurrences(of: ".", with: "")
            let added = try cni.add(id, netns: pod.path)
            #expect(added.status == 0, "\(version): \(added.stdout) \(added.stderr)")
            let result = try #require(added.json)
            #expect(result["cniVersion"] == .string(version))
            let interfaces = result["interfaces"]?.arrayValue ?? []
            #expect(interfaces.map { $0["name"]?.stringValue ?? "" }.first == "cbr0")
            #expect(interfaces.map { $0["sandbox"]?.stringValue ?? "?" } == ["", "", pod.path])
            #expect(interfaces.allSatisfy { ($0["mac"]?.stringValue?.count ?? 0) == 17 })
            let ips = result["ips"]?.arrayValue ?? []
            #expect(ips.compactMap { $0["address"]?.stringValue } == ["10.244.1.2/24", "fd00:10:244:1::2/64"])
            #expect(ips.compactMap { $0["gateway"]?.stringValue } == ["10.244.1.1", "fd00:10:244:1::1"])
            #expect(ips.allSatisfy { $0["interface"] == .number("2") })
            #expect(ips.map { $0["version"]?.stringValue } == (version < "1.0.0" ? ["4", "6"] : [nil, nil]))
            #expect(result["routes"]?.arrayValue?.compactMap { $0["dst"]?.stringValue } == ["0.0.0.0/0", "::/0"])
            #expect(try lab.addresses(in: pod) == ["10.244.1.2/24", "fd00:10:244:1::2/64"])
            // The pod reaches its gateway, the node's bridge.
            try pod.run(["ping", "-c", "1", "-W", "2", "10.244.1.1"])

            let check = try cni.check(id, netns: pod.path)
            if version >= "0.4.0" {
                #expect(check.status == 0 && check.stdout.isEmpty, "\(version): \(check.stdout)")
            } else {
                #expect(check.code == 1, "CHECK is not part of \(version)")
            }
            let status = try cni.status(), gc = try cni.gc(keeping: [(id, "eth0")])
            if version == "1.1.0" {
                #expect(status.status == 0 && status.stdout.isEmpty, "\(status.stdout)")
                #expect(gc.status == 0 && gc.stdout.isEmpty, "\(gc.stdout)")
                #expect(lab.records() == ["\(id)@eth0"], "GC keeps the valid attachment")
            } else {
                #expect(status.code == 1 && gc.code == 1)
            }
            #expect(try cni.del(id, netns: pod.path).status == 0)
            let again = try cni.del(id, netns: pod.path)
            #expect(again.status == 0 && again.stdout.isEmpty)
            try expectNoLeftovers(lab, "\(version)")
        }
    }

    @Test func badInputIsAnErrorObjectOnStdoutAndChangesNothing() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let pod = try lab.pod()
        let good = cni.stdin()
        let cases: [(String, [String: String], String, Int)] = [
            ("no container ID", ["CNI_CONTAINERID": ""], good, 4),
            ("bad container ID", ["CNI_CONTAINERID": "../x"], good, 4),
            ("no netns", ["CNI_NETNS": ""], good, 4),
            ("bad ifname", ["CNI_IFNAME": "eth 0"], good, 4),
            ("unknown verb", ["CNI_COMMAND": "ATTACH"], good, 4),
            ("not JSON", [:], "{\"cniVersion\": ", 6),
            ("unknown version", [:], good.replacingOccurrences(of: "\"1.0.0\"", with: "\"0.2.0\""), 1),
            ("no name", [:], good.replacingOccurrences(of: "\"name\":\"podnet\",", with: ""), 7),
            ("bad port mapping", [:], cni.stdin(runtimeConfig: .object(["portMappings": .array([.object(["hostPort": 70000, "containerPort": 80])])])), 7),
            ("missing node config", [:], good.replacingOccurrences(of: lab.configPath, with: "/nonexistent/node.yaml"), 7),
        ]
        for (name, overrides, stdin, code) in cases {
            var variables = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": pod.path, "CNI_IFNAME": "eth0"]
            variables.merge(overrides) { $1 }
            let outcome = try cni.invoke(variables["CNI_COMMAND"]!, containerID: variables["CNI_CONTAINERID"]!,
                                         netns: variables["CNI_NETNS"]!, ifname: variables["CNI_IFNAME"]!, stdin: stdin)
            #expect(outcome.status != 0, "\(name)")
            #expect(outcome.code == code, "\(name): \(outcome.stdout)")
            #expect(outcome.json?["msg"]?.stringValue?.isEmpty == false, "\(name)")
            #expect(outcome.json?["cniVersion"] != nil, "\(name)")
        }
        #expect(try lab.node.run(["ip", "-br", "link"]).contains("cbr0") == false, "nothing was made")
        try expectNoLeftovers(lab)
    }

    @Test func anInvalidNodeConfigGivesValidatesMessages() throws {
        let lab = try CNILab(config: """
            node:
              name: cni-node
              podCIDRs: [10.244.1.5/24]
            cluster:
              podCIDRs: [10.244.0.0/16]
              masquerade: yes
            """)
        defer { lab.delete() }
        let outcome = try lab.driver().add("c1", netns: try lab.pod().path)
        #expect(outcome.code == 7)
        let validate = try PodNetBinary.run(["validate", "-f", lab.configPath])
        #expect(validate.status == 65)
        let messages = validate.stderr.split(separator: "\n").map { $0.replacingOccurrences(of: "error: ", with: "") }
        #expect(messages.count >= 2)
        #expect(outcome.json?["details"]?.stringValue == messages.joined(separator: "\n"))
        #expect(outcome.json?["details"]?.stringValue?.contains("node.podCIDRs[0]") == true)
        let status = try lab.driver(version: "1.1.0").status()
        #expect(status.code == 50)
        #expect(status.json?["details"]?.stringValue?.contains("node.podCIDRs[0]") == true)
        try expectNoLeftovers(lab)
    }

    @Test func addressesAreNeverSharedOrReservedAndExhaustionIsAClearError() throws {
        // .0 network, .1 gateway, .7 broadcast, .3 a host port of the config's own.
        let lab = try CNILab(config: """
            node:
              name: cni-node
              podCIDRs: [10.244.1.0/29]
            cluster:
              podCIDRs: [10.244.0.0/16]
            hostPorts:
              - {podIP: 10.244.1.3, hostPort: 9999, containerPort: 80}
            """)
        defer { lab.delete() }
        let cni = lab.driver(version: "1.1.0")
        var pods: [TestNamespace] = []
        for index in 0..<4 {
            let pod = try lab.pod()
            pods.append(pod)
            #expect(try cni.add("c\(index)", netns: pod.path).status == 0)
        }
        #expect(try pods.map { try lab.addresses(in: $0) } == [["10.244.1.2/29"], ["10.244.1.4/29"], ["10.244.1.5/29"], ["10.244.1.6/29"]])
        let duplicate = try cni.add("c0", netns: pods[1].path)
        #expect(duplicate.status != 0)
        #expect(duplicate.json?["msg"]?.stringValue?.contains("already has interface eth0") == true)
        #expect(try lab.addresses(in: pods[0]) == ["10.244.1.2/29"], "the first attachment stays")
        let last = try lab.pod()
        let exhausted = try cni.add("c4", netns: last.path)
        #expect(exhausted.status != 0)
        #expect(exhausted.json?["msg"]?.stringValue == "no free address in 10.244.1.0/29", "\(exhausted.stdout)")
        #expect(try cni.status().code == 50)
        #expect(lab.records().count == 4)
        #expect(try lab.addresses(in: last) == [], "the failed ADD left nothing in the pod")
        #expect(try cni.del("c4", netns: last.path).status == 0, "the runtime's DEL after the failed ADD")
        #expect(try cni.del("c1", netns: pods[1].path).status == 0)
        #expect(try cni.status().status == 0)
        #expect(try cni.add("c4", netns: last.path).status == 0)
        #expect(try lab.addresses(in: last) == ["10.244.1.4/29"], "a released address is handed out again")
        for (index, pod) in pods.enumerated() { _ = try cni.del("c\(index)", netns: pod.path) }
        _ = try cni.del("c4", netns: last.path)
        #expect(lab.records() == [])
    }

    @Test func hostPortsFromPortMappings() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let pod = try lab.pod()
        let ready = lab.directory + "/ready"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["ip", "netns", "exec", pod.name, "python3", Self.echo, "serve", "pod", "80", ready]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate() }
        func ask(_ namespace: TestNamespace, _ transport: String, _ host: String, _ port: String) -> String? {
            try? namespace.run(["python3", Self.echo, "ask", transport, host, port, "2"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // A UDP flow to the host port from before it exists: conntrack would keep its
        // later packets away from the DNAT unless ADD clears it.
        try lab.node.run(["conntrack", "-I", "-p", "udp", "-s", "198.18.0.1", "-d", "198.18.0.10", "--sport", "40000",
                          "--dport", "5353", "--timeout", "120"])
        #expect(try lab.node.run(["conntrack", "-L", "-p", "udp", "--dport", "5353"]).contains("sport=40000"))
        let added = try cni.add("web", netns: pod.path, portMappings: [
            .object(["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]),
            .object(["hostPort": 5353, "containerPort": 80, "protocol": "udp"]),
        ], args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0")
        #expect(added.status == 0, "\(added.stdout)")
        #expect(!(try lab.node.run(["conntrack", "-L", "-p", "udp", "--dport", "5353"])).contains("sport=40000"),
                "ADD cleared the new UDP host port's flows")
        while !FileManager.default.fileExists(atPath: ready) { usleep(20_000) }
        #expect(ask(lab.upstream, "tcp", "198.18.0.10", "8080") == "pod saw 198.18.0.1", "from another host")
        #expect(ask(lab.upstream, "udp", "198.18.0.10", "5353") == "pod saw 198.18.0.1", "UDP")
        #expect(ask(lab.node, "tcp", "127.0.0.1", "8080")?.hasPrefix("pod saw ") == true, "from the node's 127.0.0.1")
        #expect(ask(pod, "tcp", "198.18.0.10", "8080") == "pod saw 10.244.1.1", "hairpin, masqueraded to the gateway")
        #expect(ask(pod, "tcp", "198.18.0.1", "1")?.isEmpty != false)
        let rules = try lab.node.run(["iptables-legacy-save", "-t", "nat"])
        #expect(rules.contains("podnet: hostport default/web-0 tcp/8080"))
        let check = try cni.check("web", netns: pod.path)
        #expect(check.status == 0, "\(check.stdout)")
        // The node model: the attachment is one of the node's pods.
        let diff = try lab.podnet(["diff", "-f", lab.configPath])
        #expect(diff.status == 0, "\(diff.stdout)\(diff.stderr)")

        // A deleted host-port rule is drift CHECK names and apply repairs.
        let chain = rules.split(separator: "\n").first { $0.hasPrefix(":PODNET-HP-") }!.dropFirst().split(separator: " ")[0]
        try lab.node.run(["iptables-legacy", "-t", "nat", "-F", String(chain)])
        let drift = try cni.check("web", netns: pod.path)
        #expect(drift.status != 0)
        #expect(drift.json?["details"]?.stringValue?.contains("(ipv4): chain \(chain) holds other rules than podnet's") == true,
                "\(drift.stdout)")
        #expect(try lab.podnet(["diff", "-f", lab.configPath]).status == 2)
        #expect(try lab.podnet(["apply", "-f", lab.configPath]).status == 0)
        #expect(try cni.check("web", netns: pod.path).status == 0)

        #expect(try cni.del("web", netns: pod.path).status == 0)
        #expect(ask(lab.upstream, "tcp", "198.18.0.10", "8080") == nil, "the host port is gone")
        try expectNoLeftovers(lab)
        #expect(!(try lab.node.run(["iptables-legacy-save"])).contains("127.0.0.0/8"), "the localnet guard went with the last host port")
        #expect(try lab.node.run(["sysctl", "-n", "net.ipv4.conf.cbr0.route_localnet"]).hasPrefix("0"))
    }

    @Test func aPodWithoutHostPortsReadsAndWritesNoTable() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        var cni = lab.driver()
        #expect(try cni.add("first", netns: try lab.pod().path).status == 0)
        let trace = lab.directory + "/trace"
        cni.wrapper = ["strace", "-f", "-qq", "-e", "trace=getsockopt,setsockopt", "-o", trace]
        let second = try lab.pod()
        #expect(try cni.add("second", netns: second.path).status == 0)
        let calls = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(!calls.contains("IPT_SO_") && !calls.contains("IP6T_SO_"), "\(calls)")
        #expect(try cni.del("second", netns: second.path).status == 0)
        let del = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(!del.contains("IPT_SO_") && !del.contains("IP6T_SO_"), "\(del)")
        // With a host port the tables are read and written.
        #expect(try cni.add("third", netns: second.path, portMappings: [.object(["hostPort": 8080, "containerPort": 80])]).status == 0)
        #expect(try String(contentsOfFile: trace, encoding: .utf8).contains("IPT_SO_SET_REPLACE"))
    }

    /// `podnet apply --cluster` and the CNI plugin share a node. The plugin's node-level
    /// runs (the first ADD, before any record of the node; an ADD with a host port) keep
    /// NetworkPolicy as apply made it, though they read no List (apply ran before the
    /// plugin had made its store). An ADD without host ports reads and writes no table
    /// there either: it joins the sets that check its port's source addresses, and that
    /// check holds for its pod at once (it cannot send from a borrowed address); DEL
    /// takes it out again. After an apply without a List the policies and sets are gone.
    @Test func addsKeepThePoliciesOfTheLastApplyWithACluster() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        var cni = lab.driver()
        let firstPod = try lab.pod()
        let list = lab.directory + "/cluster.json"
        try """
            {"kind": "List", "items": [
             {"kind": "Namespace", "metadata": {"name": "x"}},
             {"kind": "Pod", "metadata": {"name": "web", "namespace": "x", "labels": {"app": "web"}},
              "spec": {"nodeName": "cni-node", "containers": [{"ports": []}]},
              "status": {"phase": "Running", "podIPs": [{"ip": "10.244.1.200"}, {"ip": "fd00:10:244:1::200"}]}},
             {"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "x"},
              "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
            ]}
            """.write(toFile: list, atomically: true, encoding: .utf8)
        #expect(try lab.podnet(["apply", "-f", lab.configPath, "--cluster", list]).status == 0)
        let filter = { () throws -> String in
            try runCommand(["ip", "netns", "exec", lab.node.name, "iptables-legacy-save", "-t", "filter"])
        }
        // The policy chains' rules (per policy, not per pod).
        let policyRules = { () throws -> Int in
            try filter().split(separator: "\n").filter { $0.hasPrefix("-A PODNET-INGRESS") || $0.hasPrefix("-A PODNET-EGRESS") }.count
        }
        // The source check's entries (`ipset list` as the oracle): two per pod and family
        // (its port, and its port with its address).
        let sourceEntries = { () throws -> [String] in
            let names = try lab.node.run(["ipset", "list", "-n"]).split(separator: "\n").filter { $0.hasPrefix("PODNET-S") }
            return try names.flatMap { name in
                try lab.node.run(["ipset", "list", String(name)]).split(separator: "\n").filter { $0.contains(",physdev:") }.map(String.init)
            }
        }
        let before = try policyRules()
        #expect(before > 0, "the policy is in the filter table")
        #expect(!FileManager.default.fileExists(atPath: lab.dataDir), "apply ran before the plugin made its store")
        #expect(try cni.add("first", netns: firstPod.path).status == 0)
        #expect(try policyRules() == before, "the first ADD (node-level) kept the policy")
        // The rules alone: the save's date line and the built-in chains' counters change.
        let rules = { () throws -> [Substring] in try filter().split(separator: "\n").filter { $0.hasPrefix("-A ") } }
        let rulesBefore = try rules()
        let firstEntries = try sourceEntries()
        #expect(firstEntries.count == 4, "the first pod's port in both families: \(firstEntries)")

        let trace = lab.directory + "/trace"
        cni.wrapper = ["strace", "-f", "-qq", "-e", "trace=getsockopt,setsockopt", "-o", trace]
        let secondPod = try lab.pod()
        #expect(try cni.add("second", netns: secondPod.path).status == 0)
        cni.wrapper = []
        let calls = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(!calls.contains("IPT_SO_") && !calls.contains("IP6T_SO_"), "an ADD without host ports read a table: \(calls)")
        #expect(try rules() == rulesBefore)
        let entries = try sourceEntries()
        let secondAddress = try #require(try lab.addresses(in: secondPod).first { !$0.contains(":") }).split(separator: "/")[0]
        #expect(entries.count == 8 && entries.contains { $0.hasPrefix("\(secondAddress),physdev:veth") },
                "\(entries)")
        // The second pod reaches the first from its own address, not from a borrowed one.
        let firstAddress = try #require(try lab.addresses(in: firstPod).first { !$0.contains(":") }).split(separator: "/")[0]
        let ping = { (source: String) in
            // Any answer of three (a loaded machine may lose the first to neighbour discovery).
            (try? secondPod.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", source, String(firstAddress)])) != nil
        }
        #expect(ping(String(secondAddress)), "the second pod reaches the first: the check below could not fail otherwise")
        try secondPod.run(["ip", "addr", "add", "10.244.1.250/32", "dev", "eth0"])
        #expect(!ping("10.244.1.250"), "the second pod sent from an address not its own")

        #expect(try cni.add("third", netns: try lab.pod().path, portMappings: [.object(["hostPort": 8080, "containerPort": 80])]).status == 0)
        let afterThird = try filter()
        #expect(try policyRules() == before, "a pod with a host port: \(afterThird)")
        #expect(try sourceEntries().count == 12)
        let diff = try lab.podnet(["diff", "-f", lab.configPath, "--cluster", list])
        #expect(diff.status == 0, "the node is as apply --cluster left it: \(diff.stdout)\(diff.stderr)")
        #expect(try cni.del("second", netns: secondPod.path).status == 0)
        #expect(try sourceEntries().count == 8, "DEL takes the pod's port out of the check")
        #expect(!(try sourceEntries()).contains { $0.hasPrefix("\(secondAddress),") })

        // An apply without a List removes the policies, for the plugin's later runs too.
        #expect(try lab.podnet(["apply", "-f", lab.configPath]).status == 0)
        #expect(try policyRules() == 0)
        #expect(try lab.node.run(["ipset", "list", "-n"]).isEmpty)
        #expect(try cni.add("fourth", netns: try lab.pod().path, portMappings: [.object(["hostPort": 8081, "containerPort": 80])]).status == 0)
        #expect(try policyRules() == 0)
        cni.wrapper = ["strace", "-f", "-qq", "-e", "trace=getsockopt,setsockopt", "-o", trace]
        #expect(try cni.add("fifth", netns: try lab.pod().path).status == 0)
        let later = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(!later.contains("IPT_SO_") && !later.contains("IP6T_SO_"), "\(later)")
        #expect(try lab.podnet(["diff", "-f", lab.configPath]).status == 0)
    }

    /// NetworkPolicy from a pod's first instant. A pod Kubernetes made (K8S_POD_NAMESPACE
    /// and K8S_POD_NAME in CNI_ARGS) that the List does not place yet is cut off both ways
    /// (its labels, so its policies, are not known), `ipset list` as the oracle of the wait
    /// set and ping of the cut; the apply whose List has it at its address lets it go and
    /// its own policy holds. A container Kubernetes did not make never waits; DEL takes a
    /// waiting pod out.
    @Test func aKubernetesPodWaitsUntilTheListPlacesIt() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        var cni = lab.driver()
        let list = lab.directory + "/cluster.json"
        func writeList(pods: [String]) throws {
            try ("""
                {"kind": "List", "items": [
                 {"kind": "Namespace", "metadata": {"name": "x"}},
                """ + pods.map { $0 + ",\n" }.joined() + """
                 {"kind": "NetworkPolicy", "metadata": {"name": "deny-db", "namespace": "x"},
                  "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}}
                ]}
                """).write(toFile: list, atomically: true, encoding: .utf8)
        }
        func pod(_ name: String, _ addresses: [String]) -> String {
            #"{"kind": "Pod", "metadata": {"name": "\#(name)", "namespace": "x", "labels": {"app": "\#(name)"}}, "#
                + #""spec": {"nodeName": "cni-node", "containers": [{"ports": []}]}, "status": {"phase": "Running", "podIPs": ["#
                + addresses.map { #"{"ip": "\#($0)"}"# }.joined(separator: ", ") + "]}}"
        }
        /// The wait sets' members, both families.
        func waiting() throws -> [String] {
            let names = try lab.node.run(["ipset", "list", "-n"]).split(separator: "\n").filter { $0.hasPrefix("PODNET-W") }
            #expect(names.count == 2, "one wait set per family: \(names)")
            return try names.flatMap { name in
                try lab.node.run(["ipset", "save", String(name)]).split(separator: "\n").filter { $0.hasPrefix("add ") }
                    .map { String($0.split(separator: " ")[2]) }
            }.sorted()
        }
        func reaches(_ from: TestNamespace, _ address: String) -> Bool {
            // Any answer of three (a loaded machine may lose the first to neighbour discovery).
            (try? from.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", address])) != nil
        }
        try writeList(pods: [])
        #expect(try lab.podnet(["apply", "-f", lab.configPath, "--cluster", list]).status == 0)
        #expect(try waiting().isEmpty)

        let plain = try lab.pod(), web = try lab.pod(), db = try lab.pod()
        #expect(try cni.add("plain", netns: plain.path).status == 0)
        let args = { (name: String) in "IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=\(name);K8S_POD_UID=u-\(name)" }
        #expect(try cni.add("web", netns: web.path, args: args("web")).status == 0)
        #expect(try cni.add("db", netns: db.path, args: args("db")).status == 0)
        let address = { (pod: TestNamespace) throws -> [String] in
            try lab.addresses(in: pod).map { String($0.split(separator: "/")[0]) }
        }
        let plainIP = try #require(try address(plain).first { !$0.contains(":") })
        let webIPs = try address(web), dbIPs = try address(db)
        let webIP = try #require(webIPs.first { !$0.contains(":") }), dbIP = try #require(dbIPs.first { !$0.contains(":") })
        #expect(try waiting() == (webIPs + dbIPs).sorted(), "the pods of Kubernetes wait, in both families; the container does not")
        #expect(!reaches(web, plainIP), "a waiting pod sends nothing")
        #expect(!reaches(plain, webIP), "nothing reaches a waiting pod")

        // The List of the kubelet's reports: both pods at the addresses ADD gave them.
        try writeList(pods: [pod("web", webIPs), pod("db", dbIPs)])
        #expect(try lab.podnet(["apply", "-f", lab.configPath, "--cluster", list]).status == 0)
        #expect(try waiting().isEmpty, "the List places both")
        #expect(reaches(web, plainIP), "web is isolated by nothing")
        #expect(reaches(plain, webIP))
        #expect(reaches(db, plainIP), "db is isolated for ingress only")
        #expect(!reaches(plain, dbIP), "db's own policy holds")
        let diff = try lab.podnet(["diff", "-f", lab.configPath, "--cluster", list])
        #expect(diff.status == 0, "\(diff.stdout)\(diff.stderr)")

        // A pod the List has at another address (a stale report) still waits; DEL takes it out.
        // ADD begins the wait before the record exists and never again: `podnet watch`
        // ends it the moment the record appears, and a later add would begin it anew.
        let late = try lab.pod()
        let trace = lab.directory + "/trace"
        cni.wrapper = ["strace", "-f", "-qq", "-s", "256", "-e", "trace=sendto,rename", "-o", trace]
        #expect(try cni.add("late", netns: late.path, args: args("late")).status == 0)
        cni.wrapper = []
        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        let recorded = try #require(calls.firstIndex { $0.contains("rename(") && $0.contains("/allocations/late@eth0") })
        // "PODNET-W" as strace prints the set name's bytes.
        let waitAdds = calls.indices.filter { calls[$0].contains("IPSET_CMD_ADD") && calls[$0].contains(#"\x50\x4f\x44\x4e\x45\x54\x2d\x57"#) }
        #expect(waitAdds.count == 2 && waitAdds.allSatisfy { $0 < recorded }, "one add per family, before the record: \(waitAdds) \(recorded)")
        let lateIPs = try address(late)
        try writeList(pods: [pod("web", webIPs), pod("db", dbIPs), pod("late", ["10.244.1.250"])])
        #expect(try lab.podnet(["apply", "-f", lab.configPath, "--cluster", list]).status == 0)
        #expect(try waiting() == lateIPs)
        #expect(try cni.del("late", netns: late.path).status == 0)
        #expect(try waiting().isEmpty, "DEL takes a waiting pod out")

        // A pod's secondary interface (Multus' net1) never waits: the kubelet reports only
        // its eth0's address. Its address, late's before (the pool gives the lowest free one),
        // was left waiting as by an ADD killed between its wait and its record: it goes.
        let lateIPv4 = try #require(lateIPs.first { !$0.contains(":") })
        let setNames = try lab.node.run(["ipset", "list", "-n"]).split(separator: "\n")
        _ = try lab.node.run(["ipset", "add", String(try #require(setNames.first { $0.hasPrefix("PODNET-W4-") })), lateIPv4])
        #expect(try waiting() == [lateIPv4])
        let side = try lab.pod()
        let second = try cni.add("side", netns: side.path, ifname: "net1", args: args("side"))
        #expect(second.status == 0, "\(second.stdout)")
        let secondInterface = try lab.addresses(in: side, "net1").map { String($0.split(separator: "/")[0]) }
        #expect(secondInterface.contains(lateIPv4), "\(secondInterface)")
        #expect(try waiting().isEmpty)
    }

    /// An apply killed before it is done leaves no record of the node-level state: the
    /// node may be between two states, which no CNI request may take for the recorded one.
    @Test func aKilledApplyLeavesNoNodeRecord() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        #expect(try cni.add("first", netns: try lab.pod().path).status == 0)
        let record = lab.dataDir + "/node"
        #expect(FileManager.default.fileExists(atPath: record))
        // Killed at its first socket option, as it starts to observe the node.
        let killed = try runProcess("/usr/bin/env", ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=setsockopt",
                                                     "-e", "inject=setsockopt:signal=SIGKILL:when=1", PodNetBinary.path,
                                                     "apply", "-f", lab.configPath, "--netns", lab.node.name, "--data-dir", lab.dataDir],
                                    environment: lab.environment)
        #expect(killed.status != 0)
        #expect(!FileManager.default.fileExists(atPath: record), "the killed apply left the record")
        #expect(try lab.podnet(["apply", "-f", lab.configPath]).status == 0)
        #expect(FileManager.default.fileExists(atPath: record), "a finished apply records the node again")
    }

    /// What a reboot does to the node (the bridge and podnet's rules gone, the store kept
    /// under dataDir): the next ADD, even of a pod without host ports, makes the node-level
    /// state again, tables included; so does one whose stamp is of another boot; the one
    /// after reads no table again.
    @Test func aNodeWhoseStateIsGoneGetsItMadeAgainByTheNextAdd() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        var cni = lab.driver()
        func flushTables() throws {
            for tool in ["iptables-legacy", "ip6tables-legacy"] {
                for table in ["nat", "filter"] {
                    _ = try lab.node.run([tool, "-t", table, "-F"])
                    _ = try lab.node.run([tool, "-t", table, "-X"])
                }
            }
        }
        func expectMasquerade(_ comment: Comment) throws {
            let nat = try lab.node.run(["iptables-legacy-save", "-t", "nat"])
            #expect(nat.contains("-A POSTROUTING") && nat.contains("PODNET"), "masquerade is back \(comment): \(nat)")
        }
        #expect(try cni.add("first", netns: try lab.pod().path).status == 0)
        #expect(try cni.del("first", netns: "").status == 0)
        _ = try lab.node.run(["ip", "link", "del", "cbr0"])
        try flushTables()
        let second = try lab.pod()
        #expect(try cni.add("second", netns: second.path).status == 0)
        #expect(try lab.node.run(["ip", "-br", "link", "show", "cbr0"]).contains("UP"))
        try expectMasquerade("with the bridge")
        #expect(try lab.addresses(in: second) == ["10.244.1.2/24", "fd00:10:244:1::2/64"])
        // The bridge left in place, the stamp of another boot: nothing of it is trusted.
        let stampPath = lab.dataDir + "/node"
        let stamp = try String(contentsOfFile: stampPath, encoding: .utf8)
        #expect(stamp.hasPrefix("boot "), "\(stamp)")
        let otherBoot = stamp.split(separator: "\n").map { $0.hasPrefix("boot ") ? "boot 00000000-0000-0000-0000-000000000000" : String($0) }
        try (otherBoot.joined(separator: "\n") + "\n").write(toFile: stampPath, atomically: true, encoding: .utf8)
        try flushTables()
        #expect(try cni.add("fourth", netns: try lab.pod().path).status == 0)
        try expectMasquerade("after a stamp of another boot")
        let trace = lab.directory + "/trace"
        cni.wrapper = ["strace", "-f", "-qq", "-e", "trace=getsockopt,setsockopt", "-o", trace]
        #expect(try cni.add("third", netns: try lab.pod().path).status == 0)
        let calls = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(!calls.contains("IPT_SO_") && !calls.contains("IP6T_SO_"), "\(calls)")
    }

    /// An ADD after a change of `bridge.name` moves every pod to the new bridge, its own
    /// and those added before (as an apply does), and the old bridge goes with its
    /// addresses (the new bridge's connected route to the pod CIDR is then the only one).
    @Test func anAddAfterABridgeRenameMovesEveryPodToTheNewBridge() throws {
        let lab = try CNILab(config: CNILab.nodeConfig + """

            hostPorts:
              - {podIP: 10.244.1.3, protocol: tcp, hostPort: 8080, containerPort: 80}
            """)
        defer { lab.delete() }
        let cni = lab.driver()
        let first = try lab.pod()
        #expect(try cni.add("c1", netns: first.path).status == 0)
        #expect(try lab.node.run(["cat", "/proc/sys/net/ipv4/conf/cbr0/route_localnet"]).hasPrefix("1"))
        let renamed = try String(contentsOfFile: lab.configPath, encoding: .utf8) + "\nbridge: {name: cbr1}\n"
        try renamed.write(toFile: lab.configPath, atomically: true, encoding: .utf8)
        let pod = try lab.pod()
        let added = try cni.add("c2", netns: pod.path)
        #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
        let routes = try lab.node.run(["ip", "-4", "route", "show", "10.244.1.0/24"])
        #expect(routes.split(separator: "\n").count == 1 && routes.contains("dev cbr1"), "\(routes)")
        #expect(try lab.node.run(["ip", "-br", "link", "show", "type", "bridge"]).split(separator: "\n")
            .map { $0.split(separator: " ").first.map(String.init) } == ["cbr1"])
        try pod.run(["ping", "-c", "1", "-W", "2", "10.244.1.1"])
        try first.run(["ping", "-c", "1", "-W", "2", "10.244.1.1"])
        let diff = try lab.podnet(["diff", "-f", lab.configPath])
        #expect(diff.status == 0, "\(diff.stdout)\(diff.stderr)")
    }

    @Test func delWorksWithAnEmptyOrVanishedNamespace() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let first = try lab.pod(), second = try lab.pod()
        let mapping: JSONValue = .object(["hostPort": 8080, "containerPort": 80])
        #expect(try cni.add("gone", netns: first.path, portMappings: [mapping]).status == 0)
        #expect(try cni.add("empty", netns: second.path, portMappings: [.object(["hostPort": 8081, "containerPort": 80])]).status == 0)
        first.delete()
        // Until the runtime's DEL, the node model leaves the attachment out and says why.
        let diff = try lab.podnet(["diff", "-f", lab.configPath])
        #expect(diff.stderr.contains("CNI attachment gone/eth0") && diff.stderr.contains("is gone"), "\(diff.stderr)")
        #expect(try cni.del("gone", netns: first.path).status == 0, "the namespace is gone")
        #expect(try cni.del("empty", netns: "").status == 0, "ctr sends an empty CNI_NETNS")
        #expect(try cni.del("empty", netns: "").status == 0)
        try expectNoLeftovers(lab)
    }

    @Test func checkNamesWhatDiffers() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let pod = try lab.pod()
        let added = try #require(try cni.add("c1", netns: pod.path).json)
        try pod.run(["ip", "addr", "del", "10.244.1.2/24", "dev", "eth0"])
        let drift = try cni.check("c1", netns: pod.path)
        #expect(drift.status != 0)
        let details = drift.json?["details"]?.stringValue ?? ""
        #expect(details.contains("has addresses [fd00:10:244:1::2/64], not [10.244.1.2/24, fd00:10:244:1::2/64]"), "\(details)")
        let wrong = try JSONValue.parse(added.serialized.replacingOccurrences(of: "10.244.1.2/24", with: "10.244.1.9/24"))
        let previous = try cni.check("c1", netns: pod.path, prevResult: wrong)
        #expect(previous.json?["details"]?.stringValue?.contains("prevResult's addresses") == true)
        let unknown = try cni.check("nobody", netns: pod.path, prevResult: added)
        #expect(unknown.code == 3)
        #expect(try cni.del("c1", netns: pod.path).status == 0)
    }

    @Test func gcReleasesWhatIsNotValid() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver(version: "1.1.0")
        for name in ["a", "b", "c"] {
            #expect(try cni.add(name, netns: try lab.pod().path, portMappings: name == "b" ? [.object(["hostPort": 80, "containerPort": 80])] : []).status == 0)
        }
        let withoutList = try cni.invoke("GC", stdin: cni.stdin())
        #expect(withoutList.code == 7 && lab.records().count == 3, "GC without valid-attachments releases nothing")
        #expect(try cni.gc(keeping: [("a", "eth0")]).status == 0)
        #expect(lab.records() == ["a@eth0"])
        let left = try lab.podLeftovers()
        #expect(left.count == 1, "only a's host end: \(left)")
        #expect(try cni.gc(keeping: []).status == 0)
        try expectNoLeftovers(lab)
    }

    @Test func parallelAddsNeverShareAnAddress() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let count = 30
        let pods = try (0..<count).map { _ in try lab.pod() }
        let results = Locked([Int: CNIDriver.Outcome]())
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let outcome = try? cni.add("p\(index)", netns: pods[index].path)
            results.mutate { $0[index] = outcome }
        }
        let outcomes = results.value
        #expect(outcomes.values.allSatisfy { $0.status == 0 }, "\(outcomes.values.filter { $0.status != 0 }.map(\.stdout))")
        let addresses = try pods.map { try lab.addresses(in: $0) }
        #expect(Set(addresses.flatMap { $0 }).count == 2 * count, "distinct addresses: \(addresses)")
        #expect(lab.records().count == count)
        DispatchQueue.concurrentPerform(iterations: count) { index in
            _ = try? cni.del("p\(index)", netns: pods[index].path)
        }
        try expectNoLeftovers(lab)
    }

    @Test func attachmentsArePartOfTheNodeAndTeardownReleasesThem() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        #expect(try cni.add("a", netns: try lab.pod().path).status == 0)
        #expect(try cni.add("b", netns: try lab.pod().path, portMappings: [.object(["hostPort": 8080, "containerPort": 80])]).status == 0)
        let diff = try lab.podnet(["diff", "-f", lab.configPath])
        #expect(diff.status == 0 && diff.stdout.contains("No changes"), "\(diff.stdout)")
        let listed = try PodNetBinary.run(["allocations", "--data-dir", lab.dataDir])
        #expect(listed.stdout.contains("a eth0 10.244.1.2,fd00:10:244:1::2 -"), "\(listed.stdout)")
        #expect(listed.stdout.contains("b eth0 10.244.1.3,fd00:10:244:1::3 8080->80/tcp"), "\(listed.stdout)")
        let render = try PodNetBinary.run(["render", "-f", lab.configPath, "--data-dir", lab.dataDir])
        #expect(render.stdout.contains("# pod cni/a/eth0") && render.stdout.contains("podnet: hostport b tcp/8080"))
        // Without the store, diff would detach them as stale.
        let without = try PodNetBinary.run(["diff", "-f", lab.configPath, "--netns", lab.node.name, "--data-dir", lab.directory + "/none"],
                                           environment: lab.environment)
        #expect(without.status == 2 && without.stdout.contains("cni/a/eth0"))
        let teardown = try lab.podnet(["teardown", "-f", lab.configPath])
        #expect(teardown.status == 0, "\(teardown.stderr)")
        try expectNoLeftovers(lab)
        #expect(try cni.del("a", netns: "").status == 0)
    }
}

/// A value shared by concurrent test threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
