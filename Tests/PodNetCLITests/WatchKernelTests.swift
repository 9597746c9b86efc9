import Foundation
import Testing
import PodNet
import PodNetCNI
import PodNetConfig
import PodNetTestSupport

/// `podnet watch` on a real namespace, fed events through a FIFO as kubectl would write
/// them: after each batch the kernel holds exactly what `podnet render` of the same
/// objects says (ipset members included), `podnet diff` of them finds nothing to do, and
/// the line watch prints says which way it went. With a CNI store on the node, the
/// cluster state kept for the plugin's node-level runs follows every event too.
@Suite(.serialized) struct WatchKernelTests {
    static let config = """
        node:
          name: node-a
          podCIDRs: [10.244.1.0/24]
        cluster:
          podCIDRs: [10.244.0.0/16]
        """

    static func namespace(_ name: String, _ labels: String) -> String {
        #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"\#(name)","labels":{\#(labels)}}}"#
    }

    static func pod(_ namespace: String, _ name: String, node: String, ip: String, labels: String,
                    ports: String = "") -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"\#(namespace)","name":"\#(name)","labels":{\#(labels)}},"#
            + #""spec":{"nodeName":"\#(node)","containers":[{"name":"c","ports":[\#(ports)]}]},"#
            + #""status":{"phase":"Running","podIP":"\#(ip)","podIPs":[{"ip":"\#(ip)"}]}}"#
    }

    static func policy(_ namespace: String, _ name: String, _ spec: String) -> String {
        #"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"namespace":"\#(namespace)","name":"\#(name)"},"spec":\#(spec)}"#
    }

    static func event(_ type: String, _ object: String) -> String {
        // Indented as kubectl prints it.
        "{\n    \"type\": \"\(type)\",\n    \"object\": \(object)\n}\n"
    }

    /// A fresh directory for one test's files (the caller removes it).
    static func makeDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-watch-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func list(_ objects: [String]) -> String {
        "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n" + objects.joined(separator: ",\n") + "\n]}\n"
    }

    /// A pod of namespace x on node-a the kubelet has not reported yet: Pending, no address.
    static func unreported(_ name: String, labels: String = "") -> String {
        #"{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"x","name":"\#(name)","labels":{\#(labels)}},"#
            + #""spec":{"nodeName":"node-a","containers":[{"name":"c","ports":[]}]},"status":{"phase":"Pending"}}"#
    }

    /// The addresses in a set of the node (`ipset save` as the oracle), sorted.
    static func members(_ set: Substring, on node: TestNamespace) throws -> [String] {
        try node.run(["ipset", "save", String(set)]).split(separator: "\n").filter { $0.hasPrefix("add ") }
            .map { String($0.split(separator: " ")[2]) }.sorted()
    }

    /// A CNI attachment's record, as ADD writes it, of pod x/NAME's eth0 in `pod`.
    static func record(_ name: String, _ address: String, in pod: TestNamespace, container: String? = nil,
                       store: AllocationStore) throws {
        try store.withLock {
            try store.write(Allocation(id: AttachmentID(containerID: container ?? name, ifname: "eth0"),
                                       netns: "/run/netns/\(pod.name)", addresses: [IPAddress(address)!], podName: "x/\(name)"))
        }
    }

    /// A running `podnet watch` and the FIFO it reads.
    final class Watch: @unchecked Sendable {
        let process = Process()
        private let out = Pipe(), err = Pipe()
        private(set) var events: FileHandle?
        private let lock = NSLock()
        private var output = ""
        /// Whole lines only: a read may end inside one.
        private var lines: [String] { output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
        private var errors = ""

        init(_ arguments: [String], fifo: String) throws {
            process.executableURL = URL(fileURLWithPath: PodNetBinary.path)
            process.arguments = arguments
            process.standardOutput = out
            process.standardError = err
            try process.run()
            // Plain threads blocking in read(2), not readabilityHandler: a dispatch source on
            // a pipe that goes away has taken the test process down.
            read(out, into: { [self] text in lock.withLock { output += text } })
            read(err, into: { [self] text in lock.withLock { errors += text } })
            // Opens once watch has made its first apply and opened the stream.
            events = try #require(FileHandle(forWritingAtPath: fifo))
        }

        var stderr: String { lock.withLock { errors } }

        /// Whether stderr comes to hold `text` within a few seconds: watch writes its
        /// messages there before its line on stdout, but the two pipes are read apart.
        func stderrShows(_ text: String) -> Bool {
            for _ in 0..<100 {
                if stderr.contains(text) { return true }
                usleep(50_000)
            }
            return false
        }

        private let readersDone = DispatchSemaphore(value: 0)

        private func read(_ pipe: Pipe, into take: @escaping @Sendable (String) -> Void) {
            let descriptor = pipe.fileHandleForReading.fileDescriptor
            let done = readersDone
            Thread {
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = Glibc.read(descriptor, &buffer, buffer.count)
                    if count < 0, errno == EINTR { continue }
                    if count <= 0 { break }
                    take(String(decoding: buffer[0..<count], as: UTF8.self))
                }
                done.signal()
            }.start()
        }

        /// Ends watch if it still runs, and waits for its output to be read to the end.
        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            for _ in 0..<2 { _ = readersDone.wait(timeout: .now() + 10) }
        }

        /// The next `watch:` line, after `after` of them were seen.
        func line(_ number: Int) throws -> String {
            for _ in 0..<600 {
                let found = lock.withLock { lines.filter { $0.hasPrefix("watch: ") } }
                if found.count > number { return found[number] }
                guard process.isRunning else { break }
                usleep(50_000)
            }
            struct NoLine: Error, CustomStringConvertible { var description: String }
            throw NoLine(description: "no watch line \(number) (running: \(process.isRunning)); stdout: "
                         + lock.withLock { lines.joined(separator: "\n") } + " stderr: \(stderr)")
        }

        func send(_ text: String) { events?.write(Data(text.utf8)) }
    }

    @Test(.enabled(if: KernelTest.enabled))
    func podEventsMoveSetMembersAndEverythingElseIsAWholeApply() throws {
        let node = try TestNamespace(prefix: "pnwatch")
        defer { node.delete() }
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/node.yaml"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)

        // What the cluster holds, by key: the test's own account, from which the oracle Lists are made.
        var objects: [String: String] = [
            "ns/x": Self.namespace("x", #""team":"x""#),
            "ns/y": Self.namespace("y", #""team":"y""#),
            "pod/x/a": Self.pod("x", "a", node: "node-a", ip: "10.244.1.10", labels: #""app":"a""#,
                                ports: #"{"name":"http","containerPort":80}"#),
            "pod/y/b": Self.pod("y", "b", node: "node-b", ip: "10.244.2.7", labels: #""app":"b""#),
            "netpol/x/from-b": Self.policy("x", "from-b", #"{"podSelector":{"matchLabels":{"app":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"y"}},"podSelector":{"matchLabels":{"app":"b"}}}],"ports":[{"port":"http"}]}]}"#),
            "netpol/y/egress": Self.policy("y", "egress", #"{"podSelector":{},"policyTypes":["Egress"],"egress":[{"to":[{"podSelector":{"matchLabels":{"app":"b"}}}]}]}"#),
        ]
        func writeList() throws -> String {
            let path = directory + "/list.json"
            try Self.list(objects.keys.sorted().map { objects[$0]! }).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let snapshot = try writeList()
        let fifo = directory + "/events"
        #expect(mkfifo(fifo, 0o600) == 0)
        // A node where the CNI plugin attaches pods: watch keeps its record of the node.
        try FileManager.default.createDirectory(atPath: directory + "/data/allocations", withIntermediateDirectories: true)
        let store = AllocationStore(directory: directory + "/data")

        /// The kernel against `podnet render` of the same objects, and `podnet diff` of them.
        func expectKernelMatchesObjects(_ context: String) throws {
            let list = try writeList()
            let render = try PodNetBinary.run(["render", "-f", configPath, "--cluster", list])
            #expect(render.status == 0, "\(context): \(render.stderr)")
            let wanted = render.stdout.split(separator: "\n").filter { $0.hasPrefix("ipset add ") }
                .map { $0.dropFirst("ipset ".count) }.map(String.init).sorted()
            let kernel = try node.run(["ipset", "save"]).split(separator: "\n").filter { $0.hasPrefix("add PODNET-") }
                .map(String.init).sorted()
            #expect(kernel == wanted, "\(context): the kernel's set members differ from render's")
            let diff = try PodNetBinary.run(["diff", "-f", configPath, "--cluster", list, "--netns", node.name,
                                             "--data-dir", directory + "/data"])
            #expect(diff.status == 0, "\(context): podnet diff finds work: \(diff.stdout) \(diff.stderr)")
        }

        let watch = try Watch(["watch", "-f", configPath, "--cluster", snapshot, "--events", fifo, "--netns", node.name,
                               "--data-dir", directory + "/data"], fifo: fifo)
        defer { watch.stop() }
        #expect(try watch.line(0).hasPrefix("watch: initial apply of 6 objects"))
        try expectKernelMatchesObjects("after the initial apply")
        let stamp = store.nodeStamp()
        #expect(stamp != nil, "the initial apply recorded the node for the CNI plugin")
        // Rules only: the built-in chains' counters move with any packet.
        let rules = try node.run(["iptables-legacy-save", "-t", "filter"]).split(separator: "\n").filter { $0.hasPrefix("-A") }

        // kubectl lists what exists as ADDED when it starts: nothing changes.
        watch.send(Self.event("ADDED", objects["pod/x/a"]!))
        #expect(try watch.line(1).contains("1 event changed nothing"))

        // A pod on another node that the policy's peer names, then relabelled out of it,
        // then another address: set members only.
        objects["pod/y/c"] = Self.pod("y", "c", node: "node-b", ip: "10.244.2.8", labels: #""app":"b""#)
        watch.send(Self.event("ADDED", objects["pod/y/c"]!))
        #expect(try watch.line(2).contains("set members only"))
        try expectKernelMatchesObjects("pod y/c added")
        objects["pod/y/c"] = Self.pod("y", "c", node: "node-b", ip: "10.244.2.8", labels: #""app":"other""#)
        watch.send(Self.event("MODIFIED", objects["pod/y/c"]!))
        #expect(try watch.line(3).contains("set members only"))
        try expectKernelMatchesObjects("pod y/c relabelled")
        // A local pod's new address moves it in the target and isolation sets.
        objects["pod/x/a"] = Self.pod("x", "a", node: "node-a", ip: "10.244.1.11", labels: #""app":"a""#,
                                      ports: #"{"name":"http","containerPort":80}"#)
        watch.send(Self.event("MODIFIED", objects["pod/x/a"]!))
        #expect(try watch.line(4).contains("set members only"))
        try expectKernelMatchesObjects("pod x/a readdressed")
        // Two events in one write are one batch.
        objects["pod/y/b"] = nil
        let deletedB = Self.pod("y", "b", node: "node-b", ip: "10.244.2.7", labels: #""app":"b""#)
        objects["pod/y/d"] = Self.pod("y", "d", node: "node-b", ip: "10.244.2.9", labels: #""app":"b""#)
        watch.send(Self.event("DELETED", deletedB) + Self.event("ADDED", objects["pod/y/d"]!))
        #expect(try watch.line(5).contains("2 events applied"))
        try expectKernelMatchesObjects("pod y/b gone, y/d added")
        let rulesAfterPods = try node.run(["iptables-legacy-save", "-t", "filter"]).split(separator: "\n").filter { $0.hasPrefix("-A") }
        #expect(rulesAfterPods == rules, "pod events changed rules")
        // Set members are not part of the record: pod events leave it as it was.
        #expect(store.nodeStamp() == stamp)

        // A pod whose address is no address changes nothing and is named.
        watch.send(Self.event("ADDED", Self.pod("y", "bad", node: "node-b", ip: "10.244.2.300", labels: #""app":"b""#)))
        #expect(try watch.line(6).contains("1 event refused (pod y/bad): nothing changed"))
        #expect(watch.stderrShows("10.244.2.300"), "\(watch.stderr)")
        #expect(watch.stderrShows("nothing changed"), "\(watch.stderr)")
        try expectKernelMatchesObjects("an invalid pod sent")

        // A policy is a whole apply; so is a namespace's new labels.
        objects["netpol/y/egress"] = nil
        watch.send(Self.event("DELETED", Self.policy("y", "egress", "{}")))
        #expect(try watch.line(7).contains("full apply"))
        try expectKernelMatchesObjects("policy y/egress deleted")
        #expect(store.nodeStamp() == stamp, "a policy changes no part of the node the record sums")
        objects["ns/x"] = Self.namespace("x", #""team":"y""#)
        watch.send(Self.event("MODIFIED", objects["ns/x"]!))
        #expect(try watch.line(8).contains("full apply"))
        try expectKernelMatchesObjects("namespace x relabelled")

        // The streams end: watch exits 0.
        try watch.events?.close()
        watch.process.waitUntilExit()
        #expect(watch.process.terminationStatus == 0, "\(watch.stderr)")
    }

    /// `--resync`: a whole apply comes on its own, with no event, and repairs what was
    /// changed on the node behind watch's back (a set member, a policy chain's rules).
    @Test(.enabled(if: KernelTest.enabled))
    func aResyncRepairsWhatChangedBehindWatchsBack() throws {
        let node = try TestNamespace(prefix: "pnwatch")
        defer { node.delete() }
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/node.yaml", listPath = directory + "/list.json", fifo = directory + "/events"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try Self.list([
            Self.namespace("x", #""team":"x""#),
            Self.pod("x", "a", node: "node-a", ip: "10.244.1.10", labels: #""app":"a""#),
            Self.pod("x", "b", node: "node-b", ip: "10.244.2.7", labels: #""app":"b""#),
            Self.policy("x", "from-b", #"{"podSelector":{"matchLabels":{"app":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"b"}}}]}]}"#),
        ]).write(toFile: listPath, atomically: true, encoding: .utf8)
        #expect(mkfifo(fifo, 0o600) == 0)
        func kernel() throws -> [String] {
            try node.run(["ipset", "save"]).split(separator: "\n").filter { $0.hasPrefix("add PODNET-") }.map(String.init)
                + node.run(["iptables-legacy-save", "-t", "filter"]).split(separator: "\n").filter { $0.hasPrefix("-A PODNET-") }
                .map(String.init)
        }
        let watch = try Watch(["watch", "-f", configPath, "--cluster", listPath, "--events", fifo, "--netns", node.name,
                               "--resync", "1"], fifo: fifo)
        defer { watch.stop() }
        #expect(try watch.line(0).hasPrefix("watch: initial apply"))
        let applied = try kernel()
        let member = try #require(applied.first { $0.hasPrefix("add PODNET-") })
        let chain = try #require(applied.first { $0.hasPrefix("-A PODNET-INGRESS ") }?.split(separator: " ")[1])
        // Behind watch's back: a set member removed, a policy chain emptied.
        _ = try node.run(["ipset", "del"] + member.split(separator: " ").dropFirst().map(String.init))
        _ = try node.run(["iptables-legacy", "-t", "filter", "-F", String(chain)])
        #expect(try kernel() != applied)
        // No event comes; the resync does.
        #expect(try watch.line(1).contains("resync: full apply"))
        #expect(try kernel() == applied)
        let diff = try PodNetBinary.run(["diff", "-f", configPath, "--cluster", listPath, "--netns", node.name])
        #expect(diff.status == 0, "\(diff.stdout) \(diff.stderr)")
    }

    /// A pod the CNI plugin attached waits, cut off, until the List places it (`PolicyWait`):
    /// the kubelet's report of its address, as a watch event, moves it into its policy sets
    /// and out of the wait set (put there behind watch's back, as ADD does), set members
    /// only; a report of a pod on another node, or at an address not waiting, leaves the
    /// set as it is.
    @Test(.enabled(if: KernelTest.enabled))
    func thePodsReportedAddressEndsItsWait() throws {
        let node = try TestNamespace(prefix: "pnwatch")
        defer { node.delete() }
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/node.yaml", listPath = directory + "/list.json", fifo = directory + "/events"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var objects = [
            Self.namespace("x", #""team":"x""#),
            Self.policy("x", "deny-a", #"{"podSelector":{"matchLabels":{"app":"a"}},"policyTypes":["Ingress"]}"#),
        ]
        try Self.list(objects).write(toFile: listPath, atomically: true, encoding: .utf8)
        #expect(mkfifo(fifo, 0o600) == 0)
        let watch = try Watch(["watch", "-f", configPath, "--cluster", listPath, "--events", fifo, "--netns", node.name],
                              fifo: fifo)
        defer { watch.stop() }
        #expect(try watch.line(0).hasPrefix("watch: initial apply"))
        let waitSet = try #require(try node.run(["ipset", "list", "-n"]).split(separator: "\n").first { $0.hasPrefix("PODNET-W4-") })
        func members(_ set: Substring) throws -> [String] { try Self.members(set, on: node) }
        // As two CNI ADDs of pods of Kubernetes do.
        _ = try node.run(["ipset", "add", String(waitSet), "10.244.1.20"])
        _ = try node.run(["ipset", "add", String(waitSet), "10.244.1.21"])

        let isolated = try #require(try node.run(["ipset", "list", "-n"]).split(separator: "\n").first { $0.hasPrefix("PODNET-II4-") })
        let placed = Self.pod("x", "new", node: "node-a", ip: "10.244.1.20", labels: #""app":"a""#)
        watch.send(Self.event("ADDED", placed))
        #expect(try watch.line(1).contains("set members only"))
        #expect(try members(waitSet) == ["10.244.1.21"], "the reported pod's wait is over; the other's is not")
        #expect(try members(isolated) == ["10.244.1.20"], "and its policy holds it")
        // Elsewhere, or not waiting: the set stays.
        watch.send(Self.event("ADDED", Self.pod("x", "far", node: "node-b", ip: "10.244.2.21", labels: #""app":"b""#)))
        #expect(try watch.line(2).contains("applied"))
        watch.send(Self.event("ADDED", Self.pod("x", "other", node: "node-a", ip: "10.244.1.30", labels: #""app":"b""#)))
        #expect(try watch.line(3).contains("applied"))
        #expect(try members(waitSet) == ["10.244.1.21"])
        objects += [placed]
        try Self.list(objects).write(toFile: listPath, atomically: true, encoding: .utf8)
        _ = try node.run(["ipset", "del", String(waitSet), "10.244.1.21"])
        let diff = try PodNetBinary.run(["diff", "-f", configPath, "--cluster", listPath, "--netns", node.name])
        #expect(diff.status == 0, "\(diff.stdout) \(diff.stderr)")
    }

    /// The kubelet reports a pod's address at its next sync, a while after ADD: until then
    /// a pod the List has without one stands at its attachment's (`AttachmentPlacement`).
    /// Watch sees the plugin's record appear in the store (inotify) and moves the pod into
    /// its policy sets and out of the wait set, set members only; a released record takes
    /// it out again; the initial apply places a pod whose record was there before; the
    /// kubelet's later report of the same address changes nothing.
    @Test(.enabled(if: KernelTest.enabled))
    func aNewAttachmentPlacesItsPodBeforeTheKubeletReportsIt() throws {
        let node = try TestNamespace(prefix: "pnwatch")
        defer { node.delete() }
        let pods = try (0..<3).map { _ in try TestNamespace(prefix: "pnwatchpod") }
        defer { pods.forEach { $0.delete() } }
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/node.yaml", listPath = directory + "/list.json", fifo = directory + "/events"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        func unreported(_ name: String) -> String { Self.unreported(name, labels: #""app":"a""#) }
        let objects = [
            Self.namespace("x", #""team":"x""#),
            Self.policy("x", "deny-a", #"{"podSelector":{"matchLabels":{"app":"a"}},"policyTypes":["Ingress"]}"#),
            unreported("before"), unreported("early"), unreported("gone"),
        ]
        try Self.list(objects).write(toFile: listPath, atomically: true, encoding: .utf8)
        #expect(mkfifo(fifo, 0o600) == 0)
        let store = AllocationStore(directory: directory + "/data")
        func record(_ name: String, _ address: String, in pod: TestNamespace, container: String? = nil) throws {
            try Self.record(name, address, in: pod, container: container, store: store)
        }
        try record("before", "10.244.1.40", in: pods[0])
        let watch = try Watch(["watch", "-f", configPath, "--cluster", listPath, "--events", fifo, "--netns", node.name,
                               "--data-dir", directory + "/data"], fifo: fifo)
        defer { watch.stop() }
        #expect(try watch.line(0).hasPrefix("watch: initial apply"))
        let names = try node.run(["ipset", "list", "-n"]).split(separator: "\n")
        let waitSet = try #require(names.first { $0.hasPrefix("PODNET-W4-") })
        let isolated = try #require(names.first { $0.hasPrefix("PODNET-II4-") })
        func members(_ set: Substring) throws -> [String] { try Self.members(set, on: node) }
        #expect(try members(isolated) == ["10.244.1.40"], "the initial apply placed the pod recorded before it")
        #expect(try members(waitSet).isEmpty)

        // As ADD does: the wait first, then the record.
        _ = try node.run(["ipset", "add", String(waitSet), "10.244.1.41"])
        try record("early", "10.244.1.41", in: pods[1])
        #expect(try watch.line(1).contains("attachments of pod x/early changed: set members only"))
        #expect(try members(waitSet).isEmpty, "its wait is over before the kubelet reports it")
        #expect(try members(isolated) == ["10.244.1.40", "10.244.1.41"], "and its policy holds it")
        watch.send(Self.event("MODIFIED", Self.pod("x", "early", node: "node-a", ip: "10.244.1.41", labels: #""app":"a""#)))
        #expect(try watch.line(2).contains("no policy set changes"), "the kubelet's report of the same address")
        // The sandbox made again: a new container at the same address (the pool gives the
        // lowest free one) waits anew, and the List, which has the pod there, ends it at once.
        try store.withLock { try store.remove(AttachmentID(containerID: "early", ifname: "eth0")) }
        #expect(try watch.line(3).contains("attachments of pod x/early changed: no set changes"))
        _ = try node.run(["ipset", "add", String(waitSet), "10.244.1.41"])
        try record("early", "10.244.1.41", in: pods[1], container: "early-again")
        #expect(try watch.line(4).contains("changed: waits ended"))
        #expect(try members(waitSet).isEmpty)

        _ = try node.run(["ipset", "add", String(waitSet), "10.244.1.42"])
        try record("gone", "10.244.1.42", in: pods[2])
        #expect(try watch.line(5).contains("attachments of pod x/gone changed: set members only"))
        try store.withLock { try store.remove(AttachmentID(containerID: "gone", ifname: "eth0")) }
        #expect(try watch.line(6).contains("attachments of pod x/gone changed: set members only"))
        #expect(try members(isolated) == ["10.244.1.40", "10.244.1.41"], "a released record takes its pod out")

        // A pod the List does not have yet waits on; another pod's report of its address
        // (stale) does not end the wait; its own does.
        _ = try node.run(["ipset", "add", String(waitSet), "10.244.1.43"])
        try record("late", "10.244.1.43", in: pods[2])
        watch.send(Self.event("ADDED", Self.pod("x", "imposter", node: "node-a", ip: "10.244.1.43", labels: #""app":"b""#)))
        #expect(try watch.line(7).contains("applied"))
        #expect(try members(waitSet) == ["10.244.1.43"])
        watch.send(Self.event("ADDED", Self.pod("x", "late", node: "node-a", ip: "10.244.1.43", labels: #""app":"a""#)))
        #expect(try watch.line(8).contains("set members only"))
        #expect(try members(waitSet).isEmpty)
    }

    /// Watch started before the CNI plugin's first run (no store yet) sees the store when
    /// the first ADD makes it, and again after it was removed and made anew.
    @Test(.enabled(if: KernelTest.enabled))
    func theStoreIsWatchedFromBeforeItExists() throws {
        let node = try TestNamespace(prefix: "pnwatch")
        defer { node.delete() }
        let pod = try TestNamespace(prefix: "pnwatchpod")
        defer { pod.delete() }
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/node.yaml", listPath = directory + "/list.json", fifo = directory + "/events"
        try Self.config.write(toFile: configPath, atomically: true, encoding: .utf8)
        func unreported(_ name: String) -> String { Self.unreported(name) }
        try Self.list([
            Self.namespace("x", #""team":"x""#),
            Self.policy("x", "deny", #"{"podSelector":{},"policyTypes":["Ingress"]}"#),
            unreported("first"), unreported("second"),
        ]).write(toFile: listPath, atomically: true, encoding: .utf8)
        #expect(mkfifo(fifo, 0o600) == 0)
        // The data directory's parent is there (as /var/lib is); the store is not.
        try FileManager.default.createDirectory(atPath: directory + "/store", withIntermediateDirectories: true)
        let dataDir = directory + "/store/data"
        let watch = try Watch(["watch", "-f", configPath, "--cluster", listPath, "--events", fifo, "--netns", node.name,
                               "--data-dir", dataDir], fifo: fifo)
        defer { watch.stop() }
        #expect(try watch.line(0).hasPrefix("watch: initial apply"))
        let store = AllocationStore(directory: dataDir)
        func record(_ name: String, _ address: String) throws { try Self.record(name, address, in: pod, store: store) }
        try record("first", "10.244.1.50")
        #expect(try watch.line(1).contains("attachments of pod x/first changed: set members only"))
        try FileManager.default.removeItem(atPath: dataDir)
        #expect(try watch.line(2).contains("attachments of pod x/first changed"), "the store removed: its record too")
        try record("second", "10.244.1.51")
        #expect(try watch.line(3).contains("attachments of pod x/second changed: set members only"))
    }

    static func nodeObject(_ name: String, cidr: String, ip: String) -> String {
        #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"\#(name)"},"spec":{"podCIDR":"\#(cidr)","podCIDRs":["\#(cidr)"]},"#
            + #""status":{"addresses":[{"type":"InternalIP","address":"\#(ip)"},{"type":"Hostname","address":"\#(name)"}]}}"#
    }

    @Test(.enabled(if: KernelTest.enabled))
    func aNodesNewAddressIsOneNexthopReplaceAndEverythingElseIsAWholeApply() throws {
        let node = try TestNamespace(prefix: "pnwatch")
        defer { node.delete() }
        // The gateways' link: on-link for 198.18.0.0/24.
        try node.run(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"])
        try node.run(["ip", "addr", "add", "198.18.0.1/24", "dev", "up0"])
        try node.run(["ip", "link", "set", "up0", "up"])
        try node.run(["ip", "link", "set", "up1", "up"])
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/node.yaml"
        try "node: {name: node-a}\ncluster: {podCIDRs: [10.244.0.0/16]}\n".write(toFile: configPath, atomically: true, encoding: .utf8)
        var nodes: [String: String] = ["node-a": Self.nodeObject("node-a", cidr: "10.244.1.0/24", ip: "198.18.0.11")]
        for (index, name) in ["node-b", "node-c", "node-d"].enumerated() {
            nodes[name] = Self.nodeObject(name, cidr: "10.244.\(index + 2).0/24", ip: "198.18.0.\(index + 12)")
        }
        func writeList() throws -> String {
            let path = directory + "/nodes.json"
            try Self.list(nodes.keys.sorted().map { nodes[$0]! }).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let snapshot = try writeList()
        func expectKernelMatchesNodes(_ context: String) throws {
            let diff = try PodNetBinary.run(["diff", "-f", configPath, "--nodes", try writeList(), "--netns", node.name,
                                             "--data-dir", directory + "/data"])
            #expect(diff.status == 0, "\(context): podnet diff finds work: \(diff.stdout) \(diff.stderr)")
        }
        // A nexthop of someone else's, which no event may touch.
        try node.run(["ip", "nexthop", "add", "id", "7", "via", "198.18.0.99", "dev", "up0"])
        // A node where the CNI plugin attaches pods: a Node event takes the store's lock
        // (its stamp), which must not be held already.
        try FileManager.default.createDirectory(atPath: directory + "/data/allocations", withIntermediateDirectories: true)
        let fifo = directory + "/events"
        #expect(mkfifo(fifo, 0o600) == 0)
        let watch = try Watch(["watch", "-f", configPath, "--nodes", snapshot, "--events", fifo, "--netns", node.name,
                               "--data-dir", directory + "/data"], fifo: fifo)
        defer { watch.stop() }
        #expect(try watch.line(0).hasPrefix("watch: initial apply of 4 objects"))
        try expectKernelMatchesNodes("after the initial apply")
        func nexthopOf(_ prefix: String) throws -> String? {
            let route = try node.run(["ip", "route", "show", prefix])
            return route.split(separator: " ").split(separator: "nhid").dropFirst().first?.first.map(String.init)
        }
        let id = try #require(try nexthopOf("10.244.2.0/24"))

        nodes["node-b"] = Self.nodeObject("node-b", cidr: "10.244.2.0/24", ip: "198.18.0.22")
        watch.send(Self.event("MODIFIED", nodes["node-b"]!))
        #expect(try watch.line(1).contains("routes of these peers only (1 nexthop writes)"))
        try expectKernelMatchesNodes("node-b readdressed")
        #expect(try nexthopOf("10.244.2.0/24") == id, "the route keeps its nexthop")
        #expect(try node.run(["ip", "nexthop", "show", "id", id]).contains("via 198.18.0.22"))

        nodes["node-c"] = nil
        watch.send(Self.event("DELETED", Self.nodeObject("node-c", cidr: "10.244.3.0/24", ip: "198.18.0.13")))
        #expect(try watch.line(2).contains("routes of these peers only"))
        try expectKernelMatchesNodes("node-c gone")
        #expect(try node.run(["ip", "route", "show", "10.244.3.0/24"]).isEmpty)

        // A new node, and new pod CIDRs, are checked against every other: whole applies.
        nodes["node-e"] = Self.nodeObject("node-e", cidr: "10.244.5.0/24", ip: "198.18.0.15")
        watch.send(Self.event("ADDED", nodes["node-e"]!))
        #expect(try watch.line(3).contains("full apply"))
        try expectKernelMatchesNodes("node-e added")
        nodes["node-d"] = Self.nodeObject("node-d", cidr: "10.244.6.0/24", ip: "198.18.0.14")
        watch.send(Self.event("MODIFIED", nodes["node-d"]!))
        #expect(try watch.line(4).contains("full apply"))
        try expectKernelMatchesNodes("node-d's new pod CIDR")
        // A Node whose pod CIDR overlaps another's is refused.
        watch.send(Self.event("MODIFIED", Self.nodeObject("node-b", cidr: "10.244.5.0/25", ip: "198.18.0.22")))
        #expect(try watch.line(5).contains("refused"))
        try expectKernelMatchesNodes("an overlapping node refused")

        #expect(try node.run(["ip", "nexthop", "show", "id", "7"]).contains("via 198.18.0.99"), "the foreign nexthop")
        try watch.events?.close()
        watch.process.waitUntilExit()
        #expect(watch.process.terminationStatus == 0, "\(watch.stderr)")
    }
}
