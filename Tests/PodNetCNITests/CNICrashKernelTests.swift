import Foundation
import PodNetConfig
import PodNetTestSupport
import Testing

/// One call podnet makes that changes something: a netlink request asking for an
/// acknowledgement, a table replace (or its counters), a write to /proc/sys, to the
/// allocation store or to stdout, a rename or an unlink.
struct ChangingCall: CustomStringConvertible {
    var call: String
    /// Which call of its name it is in the run, from 1 (strace's `when=`).
    var invocation: Int
    var trace: String

    var description: String { "\(call) #\(invocation): \(trace.prefix(160))" }

    static let traced = "sendto,setsockopt,write,rename,unlink"

    /// The changing calls of a trace of `strace -qq -y -e trace=\(traced)` of one process.
    static func parse(_ trace: String) -> [ChangingCall] {
        var seen: [String: Int] = [:], calls: [ChangingCall] = []
        for line in trace.split(separator: "\n") {
            guard let open = line.firstIndex(of: "(") else { continue }
            let call = String(line[..<open])
            guard traced.split(separator: ",").contains(Substring(call)) else { continue }
            seen[call, default: 0] += 1
            let arguments = line[open...]
            let changes = switch call {
            case "sendto": arguments.contains("NLM_F_ACK")
            case "setsockopt": arguments.contains("_SO_SET_")
            case "write": !arguments.hasPrefix("(2<")
            default: true
            }
            if changes { calls.append(ChangingCall(call: call, invocation: seen[call]!, trace: String(line))) }
        }
        return calls
    }
}

/// SIGKILL at every changing call of ADD and of DEL: what is left is either no
/// allocation (and nothing in the kernel) or a whole one, and the runtime's DEL then
/// leaves nothing at all.
@Suite(.serialized, .enabled(if: KernelTest.enabled)) struct CNICrashKernelTests {
    static let mapping: JSONValue = .object(["hostPort": 8080, "containerPort": 80, "protocol": "udp"])

    private func traced(_ cni: CNIDriver, _ lab: CNILab, _ body: (CNIDriver) throws -> CNIDriver.Outcome) throws
        -> [ChangingCall] {
        var cni = cni
        let trace = lab.directory + "/trace"
        cni.wrapper = ["strace", "-qq", "-y", "-e", "trace=\(ChangingCall.traced)", "-o", trace]
        let outcome = try body(cni)
        #expect(outcome.status == 0, "\(outcome.stdout)")
        return ChangingCall.parse(try String(contentsOfFile: trace, encoding: .utf8))
    }

    private func killed(_ cni: CNIDriver, at call: ChangingCall) -> CNIDriver {
        var cni = cni
        cni.wrapper = ["strace", "-qq", "-o", "/dev/null", "-e", "trace=\(call.call)",
                       "-e", "inject=\(call.call):signal=SIGKILL:when=\(call.invocation)"]
        return cni
    }

    /// Everything of podnet's on the node: links (bridge, host ends, half-made ones),
    /// rules naming podnet in both families.
    private func nodeLeftovers(_ lab: CNILab) throws -> [String] {
        let links = try lab.node.run(["ip", "-br", "link"]).split(separator: "\n")
            .compactMap { $0.split(separator: " ").first?.split(separator: "@").first.map(String.init) }
            .filter { $0 != "lo" && $0 != "eth0" }.map { "link: \($0)" }
        let rules = (try lab.node.run(["iptables-legacy-save"]) + (try lab.node.run(["ip6tables-legacy-save"])))
            .split(separator: "\n").filter { $0.contains("PODNET") }.map { "rule: \($0)" }
        return links + rules
    }

    private func reset(_ lab: CNILab) throws {
        let teardown = try lab.podnet(["teardown", "-f", lab.configPath])
        #expect(teardown.status == 0, "\(teardown.stderr)")
        #expect(try nodeLeftovers(lab) == [])
    }

    @Test func aKilledAddLeavesNoAllocationOrAWholeOneThatDelReleases() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let pod = try lab.pod()
        // Every run starts where a teardown leaves the node (the global sysctls on).
        #expect(try cni.add("c1", netns: pod.path, portMappings: [Self.mapping]).status == 0)
        #expect(try cni.del("c1", netns: pod.path).status == 0)
        try reset(lab)
        let calls = try traced(cni, lab) { try $0.add("c1", netns: pod.path, portMappings: [Self.mapping]) }
        #expect(try cni.del("c1", netns: pod.path).status == 0)
        try reset(lab)
        #expect(calls.count > 20, "\(calls.count) calls")
        let kinds = Set(calls.map(\.call))
        #expect(kinds.isSuperset(of: ["sendto", "setsockopt", "write", "rename"]), "\(calls)")
        for call in calls {
            let outcome = try killed(cni, at: call).add("c1", netns: pod.path, portMappings: [Self.mapping])
            #expect(outcome.status != 0, "\(call)")
            let records = lab.records()
            if records.isEmpty {
                // The record goes in before any kernel change.
                #expect(try nodeLeftovers(lab) == [], "no allocation, nothing made: \(call)")
            } else {
                #expect(records == ["c1@eth0"], "\(call)")
                let listed = try PodNetBinary.run(["allocations", "--data-dir", lab.dataDir])
                #expect(listed.status == 0 && listed.stdout.hasPrefix("c1 eth0 10.244.1.2,fd00:10:244:1::2 8080->80/udp"),
                        "a whole record: \(call) \(listed.stdout)\(listed.stderr)")
            }
            let del = try cni.del("c1", netns: pod.path)
            #expect(del.status == 0, "DEL after \(call): \(del.stdout)")
            #expect(lab.records() == [], "\(call)")
            #expect(try lab.podLeftovers() == [], "DEL after \(call)")
            #expect(try lab.addresses(in: pod) == [], "DEL after \(call)")
            try reset(lab)
        }
    }

    /// The same on a prepared node, for a pod without host ports: the ADD that attaches
    /// beside others (the namespace's lock shared, the store's only around the record).
    @Test func aKilledAddOnAPreparedNodeLeavesNoAllocationOrAWholeOneThatDelReleases() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let pod = try lab.pod()
        #expect(try cni.add("c0", netns: try lab.pod().path).status == 0, "the node's own state first")
        let before = try lab.podLeftovers()
        #expect(before.count == 1, "c0's host end: \(before)")
        let calls = try traced(cni, lab) { try $0.add("c1", netns: pod.path) }
        #expect(try cni.del("c1", netns: pod.path).status == 0)
        #expect(Set(calls.map(\.call)).isSuperset(of: ["sendto", "write", "rename"]), "\(calls)")
        for call in calls {
            let outcome = try killed(cni, at: call).add("c1", netns: pod.path)
            #expect(outcome.status != 0, "\(call)")
            let records = lab.records()
            if records == ["c0@eth0"] {
                #expect(try lab.podLeftovers() == before, "no allocation, nothing made: \(call)")
            } else {
                #expect(records == ["c0@eth0", "c1@eth0"], "\(call)")
            }
            #expect(try cni.del("c1", netns: pod.path).status == 0, "DEL after \(call)")
            #expect(lab.records() == ["c0@eth0"], "\(call)")
            #expect(try lab.podLeftovers() == before, "DEL after \(call)")
            #expect(try lab.addresses(in: pod) == [], "DEL after \(call)")
        }
    }

    @Test func aKilledDelLeavesTheAllocationOrNothingAndDelAgainReleases() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let pod = try lab.pod()
        #expect(try cni.add("c1", netns: pod.path, portMappings: [Self.mapping]).status == 0)
        let calls = try traced(cni, lab) { try $0.del("c1", netns: pod.path) }
        #expect(Set(calls.map(\.call)).isSuperset(of: ["sendto", "setsockopt", "unlink"]), "\(calls)")
        for call in calls {
            #expect(try cni.add("c1", netns: pod.path, portMappings: [Self.mapping]).status == 0, "\(call)")
            let outcome = try killed(cni, at: call).del("c1", netns: pod.path)
            #expect(outcome.status != 0, "\(call)")
            let records = lab.records()
            if records.isEmpty {
                // The record goes only once the kernel's part is gone.
                #expect(try lab.podLeftovers() == [], "no allocation, nothing left: \(call)")
            } else {
                #expect(records == ["c1@eth0"], "\(call)")
            }
            #expect(try cni.del("c1", netns: pod.path).status == 0, "\(call)")
            #expect(lab.records() == [], "DEL again after \(call)")
            #expect(try lab.podLeftovers() == [], "DEL again after \(call)")
        }
        try reset(lab)
    }

    /// The same for a DEL of a pod without host ports (only its host end goes, the
    /// namespace's lock shared).
    @Test func aKilledDelOfAPodWithoutHostPortsLeavesTheAllocationOrNothingAndDelAgainReleases() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let pod = try lab.pod()
        #expect(try cni.add("c0", netns: try lab.pod().path).status == 0, "the node's own state first")
        let before = try lab.podLeftovers()
        #expect(try cni.add("c1", netns: pod.path).status == 0)
        let calls = try traced(cni, lab) { try $0.del("c1", netns: pod.path) }
        #expect(Set(calls.map(\.call)).isSuperset(of: ["sendto", "unlink"]), "\(calls)")
        for call in calls {
            #expect(try cni.add("c1", netns: pod.path).status == 0, "\(call)")
            let outcome = try killed(cni, at: call).del("c1", netns: pod.path)
            #expect(outcome.status != 0, "\(call)")
            if lab.records() == ["c0@eth0"] {
                #expect(try lab.podLeftovers() == before, "no allocation, nothing left: \(call)")
            } else {
                #expect(lab.records() == ["c0@eth0", "c1@eth0"], "\(call)")
            }
            #expect(try cni.del("c1", netns: pod.path).status == 0, "\(call)")
            #expect(lab.records() == ["c0@eth0"], "DEL again after \(call)")
            #expect(try lab.podLeftovers() == before, "DEL again after \(call)")
        }
    }

    /// Every netlink write from the ADD's last one on is refused, its undo's included (the
    /// hairpin flag, after the host end has its name; then the host end's deletion): the
    /// record stays, since the kernel holds part of the run, and the runtime's DEL removes both.
    @Test func anAddWhoseUndoFailsKeepsItsRecordForDel() throws {
        let lab = try CNILab()
        defer { lab.delete() }
        let cni = lab.driver()
        let pod = try lab.pod()
        #expect(try cni.add("c0", netns: try lab.pod().path).status == 0, "the node's own state first")
        let calls = try traced(cni, lab) { try $0.add("c1", netns: pod.path) }
        #expect(try cni.del("c1", netns: pod.path).status == 0)
        let last = try #require(calls.last { $0.call == "sendto" })
        var refusing = cni
        refusing.wrapper = ["strace", "-qq", "-o", "/dev/null", "-e", "trace=sendto",
                            "-e", "inject=sendto:error=EPERM:when=\(last.invocation)+"]
        let outcome = try refusing.add("c1", netns: pod.path)
        #expect(outcome.status != 0)
        #expect(outcome.json?["details"]?.stringValue?.contains("hairpin") == true, "\(outcome.stdout)")
        #expect(lab.records() == ["c0@eth0", "c1@eth0"], "the record stays for DEL")
        #expect(try cni.del("c1", netns: pod.path).status == 0)
        #expect(lab.records() == ["c0@eth0"])
        #expect(try lab.addresses(in: pod) == [])
        #expect(try cni.del("c0", netns: "").status == 0)
        #expect(try lab.podLeftovers() == [])
    }
}
