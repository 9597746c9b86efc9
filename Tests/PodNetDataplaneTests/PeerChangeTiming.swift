import Foundation
import Testing
import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetDataplane
import PodNetIptables
import PodNetTestSupport

/// Issue 15's "one peer's node IP changed among 20,000 peers" as `podnet watch` meets it:
/// the node holds podnet's state for Tests/Bench/generate.py's 20,000 peers, and each event
/// is `Compiler.peerChange` plus `applyPeerChange` of peer node-10000's IPv4 node IP, moved
/// and moved back. Only when PODNET_PEER_TIMING names a directory holding
/// peers-20000.json and peers-20000-moved.json (bench.py's inputs); it prints its figures:
/// wall time of each part, and the process's CPU time (user and kernel) over the events.
@Suite(.serialized) struct PeerChangeTiming {
    static let inputs = ProcessInfo.processInfo.environment["PODNET_PEER_TIMING"]

    static func processCPUTime() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    @Test(.enabled(if: inputs != nil && KernelTest.enabled))
    func oneNodeIPChangedAmong20000Peers() throws {
        let directory = try #require(Self.inputs)
        let load = { (name: String) throws -> NodeConfig in
            try ConfigLoader.load(configText: String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8),
                                  configName: name).config
        }
        let before = try load("peers-20000.json"), after = try load("peers-20000-moved.json")
        let index = try #require(before.peers.indices.first { before.peers[$0] != after.peers[$0] })
        let ns = try TestNamespace(prefix: "pnpeer")
        defer {
            // Routes first: a nexthop deleted under 20,000 routes walks the table each time.
            _ = try? ns.run(["ip", "-4", "route", "flush", "proto", "111"])
            ns.delete()
        }
        for command in [["link", "add", "pnb-uplink", "type", "veth", "peer", "name", "pnb-far"],
                        ["addr", "add", "198.18.0.1/15", "dev", "pnb-uplink"],
                        ["addr", "add", "2001:db8::1/32", "dev", "pnb-uplink", "nodad"],
                        ["link", "set", "pnb-far", "up"], ["link", "set", "pnb-uplink", "up"]] {
            try ns.run(["ip"] + command)
        }
        let lockDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-timing-\(ns.name)").path
        try FileManager.default.createDirectory(atPath: lockDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: lockDirectory) }
        setenv("PODNET_LOCK_DIR", lockDirectory, 1)
        let dataplane = NodeDataplane(namespace: ns.namespace,
                                      iptables: Iptables(namespace: ns.namespace,
                                                         lock: XtablesLock(path: lockDirectory + "/xtables.lock", wait: .seconds(10))),
                                      lockWait: .seconds(30))
        let ownership = Ownership(before)
        let clock = ContinuousClock()
        var desired = try Compiler.compile(before)
        let fullApply = try clock.measure { _ = try dataplane.apply(desired, ownership: ownership) }
        var context: PeerRouteContext?
        let contextTime = try clock.measure { context = try dataplane.peerRouteContext(ownership: ownership) }
        let afterDesired = try Compiler.compile(after)
        let oneShot = try clock.measure { _ = try dataplane.apply(afterDesired, ownership: ownership) }
        _ = try dataplane.apply(desired, ownership: ownership)

        let milliseconds = { (duration: Duration) in
            String(format: "%.3f ms", Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1e3)
        }
        var times: [Duration] = [], compileTimes: [Duration] = []
        var writes = 0
        let cpuBefore = Self.processCPUTime()
        for event in 0..<200 {
            let (old, new, config) = event % 2 == 0
                ? (before.peers[index], after.peers[index], after) : (after.peers[index], before.peers[index], before)
            let start = clock.now
            let change = try #require(try Compiler.peerChange(from: old, to: new, desired: desired, config: config))
            let compiled = clock.now
            let outcome = try dataplane.applyPeerChange(change, to: &desired, context: context!, ownership: ownership)
            times.append(clock.now - start)
            compileTimes.append(compiled - start)
            writes += try #require(outcome).executed.operationCount
        }
        let cpu = Self.processCPUTime() - cpuBefore
        #expect(writes == 200)

        // The other kinds of event, once each, on the config after the moves.
        var config = before
        var others: [String] = []
        func event(_ label: String, _ old: Peer?, _ new: Peer?) throws {
            var after = config
            if let old { after.peers.removeAll { $0.name == old.name } }
            if let new { after.peers.append(new) }
            let start = clock.now
            let change = try #require(try Compiler.peerChange(from: old, to: new, desired: desired, config: after))
            let result = try #require(try dataplane.applyPeerChange(change, to: &desired, context: context!, ownership: ownership))
            others.append("\(label) \(milliseconds(clock.now - start)) (\(result.executed.operationCount) writes)")
            config = after
        }
        var renumbered = config.peers[5000]
        renumbered.podCIDRs = [try IPNetwork(parsing: "10.250.0.0/24"), try IPNetwork(parsing: "fd00:10:ffff::/64")]
        try event("pod CIDRs changed", config.peers[5000], renumbered)
        try event("peer added", nil, Peer(name: "node-new", nodeIPs: [IPAddress("198.19.0.7")!, IPAddress("2001:db8:1::7")!],
                                          podCIDRs: [try IPNetwork(parsing: "10.251.0.0/24"),
                                                     try IPNetwork(parsing: "fd00:10:fffe::/64")]))
        try event("peer removed", config.peers[7000], nil)
        #expect(try dataplane.plan(desired, ownership: ownership).isEmpty)
        #expect(desired.routes == (try Compiler.compile(config)).routes)
        times.sort()
        compileTimes.sort()
        print("""
            one node IP changed among 20,000 peers, 200 events (compile alone + applyPeerChange), \(writes) writes:
              median \(milliseconds(times[100])), p90 \(milliseconds(times[180])), min \(milliseconds(times[0])), max \(milliseconds(times[199]))
              of which Compiler.peerChange: median \(milliseconds(compileTimes[100])), p90 \(milliseconds(compileTimes[180]))
              process CPU time (user + kernel) per event: \(milliseconds(cpu / 200))
              peerRouteContext once: \(milliseconds(contextTime)); full apply from empty (in process, compiled): \(milliseconds(fullApply))
              one-shot full apply of the moved config (in process, compiled, config not read): \(milliseconds(oneShot))
              then, once each: \(others.joined(separator: "; "))
            """)
    }
}
