import Foundation
import Testing
import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetTestSupport

/// Set members kept pod by pod, held to full compiles: the operations `PolicyMembership`
/// gives for a pod's change take the sets of a compile before it to those of a compile
/// after it, and it gives none (nil) exactly when the rules change too.
@Suite struct PolicyMembershipTests {
    static let dualStack = try! ConfigLoader.load(configText: """
        node:
          name: node-a
          podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]
        cluster:
          podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
        """, configName: "node.yaml").config
    static let ipv4Only = try! ConfigLoader.load(configText: """
        node:
          name: node-a
          podCIDRs: [10.244.1.0/24]
        cluster:
          podCIDRs: [10.244.0.0/16]
        """, configName: "node.yaml").config

    // MARK: the oracle

    /// `sets` with `operations` applied, each of which must change something (an add
    /// of a member already there, or a delete of one that is not, is an error too).
    static func applying(_ operations: [IPSetOperation], to sets: [IPSetState]) -> [IPSetState]? {
        var byName = Dictionary(uniqueKeysWithValues: sets.map { ($0.name, $0) })
        for operation in operations {
            switch operation {
            case .add(let set, let entry):
                guard byName[set]?.entries.insert(entry).inserted == true else { return nil }
            case .delete(let set, let entry):
                guard byName[set]?.entries.remove(entry) != nil else { return nil }
            default:
                return nil
            }
        }
        return byName.values.sorted { $0.name < $1.name }
    }

    static func sorted(_ sets: [IPSetState]) -> [IPSetState] { sets.sorted { $0.name < $1.name } }

    /// What a change must give against the two compiles: nil exactly when the rules
    /// (or the sets that exist) differ, else operations that are the sets' difference.
    static func check(_ operations: [IPSetOperation]?, before: DesiredState, after: DesiredState,
                      _ what: @autoclosure () -> String) -> Bool {
        let sameRules = before.tables == after.tables && Set(before.ipsets.map(\.name)) == Set(after.ipsets.map(\.name))
        guard let operations else {
            #expect(!sameRules, "nil though only members change: \(what())")
            return !sameRules
        }
        #expect(sameRules, "operations though the rules change: \(what())")
        let applied = applying(operations, to: before.ipsets)
        #expect(applied == sorted(after.ipsets), "\(operations.map(\.commandText)) do not give the compile's sets: \(what())")
        return sameRules && applied == sorted(after.ipsets)
    }

    // MARK: random clusters

    struct Generator {
        var random: SplitMix
        var nextPod = 0

        mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        mutating func count(_ upTo: Int) -> Int { Int(random.next() % UInt64(upTo + 1)) }

        mutating func labels() -> Labels {
            var labels: Labels = [:]
            if chance(70) { labels["app"] = pick(["a0", "a1", "a2"]) }
            if chance(50) { labels["role"] = pick(["web", "db"]) }
            return labels
        }

        mutating func selector() -> LabelSelector {
            switch count(4) {
            case 0: return .everything
            case 1: return LabelSelector(matchLabels: ["app": pick(["a0", "a1", "a2"])])
            case 2: return LabelSelector(matchLabels: ["role": pick(["web", "db"])])
            case 3: return LabelSelector(matchExpressions: [LabelRequirement(key: pick(["app", "role"]),
                                                                             op: pick(LabelRequirement.Operator.allCases),
                                                                             values: [pick(["a0", "a1", "web"])])])
            default: return LabelSelector(matchLabels: ["app": pick(["a0", "a1"])],
                                          matchExpressions: [LabelRequirement(key: "role", op: .exists)])
            }
        }

        mutating func namespaceSelector() -> LabelSelector {
            switch count(3) {
            case 0: return .everything
            case 1: return LabelSelector(matchLabels: ["team": pick(["x", "y"])])
            case 2: return LabelSelector(matchLabels: [ClusterNamespace.nameLabel: pick(["n0", "n1", "n9"])])
            default: return LabelSelector(matchExpressions: [LabelRequirement(key: "team", op: pick([.notIn, .doesNotExist]),
                                                                              values: ["x"])])
            }
        }

        /// Few addresses, so that pods share them.
        mutating func ips() -> [IPAddress] {
            let v4 = IPAddress("10.244.\(pick([1, 2])).\(count(5) + 1)")!, v6 = IPAddress("fd00:10:244:1::\(count(5) + 1)")!
            switch count(9) {
            case 0: return []
            case 1: return [v6]
            case 2: return [v4, IPAddress("10.244.3.\(count(3) + 1)")!]
            case 3, 4: return [v4]
            case 5: return [v6, v4]
            default: return [v4, v6]
            }
        }

        mutating func ports() -> [ContainerPort] {
            (0..<count(2)).map { _ in
                ContainerPort(name: chance(85) ? pick(["web", "metrics"]) : nil, port: pick([80, 8080, 9090]),
                              transport: chance(85) ? .tcp : .udp)
            }
        }

        mutating func pod(in namespace: String? = nil) -> ClusterPod {
            nextPod += 1
            return ClusterPod(namespace: namespace ?? pick(["n0", "n1", "n2", "n0", "n9"]), name: "p\(nextPod)", labels: labels(),
                              nodeName: pick(["node-a", "node-a", "node-b", nil]), hostNetwork: chance(5), ips: ips(),
                              phase: pick([.running, .running, .running, .running, .pending, .succeeded, .failed, nil]), ports: ports())
        }

        mutating func port() -> PolicyPort {
            let transport: TransportProtocol = chance(80) ? .tcp : .udp
            switch count(5) {
            case 0: return PolicyPort(transport: transport)
            case 1: return PolicyPort(transport: transport, port: .number(pick([80, 53])))
            case 2: return PolicyPort(transport: transport, port: .range(8000, 8100))
            default: return PolicyPort(transport: transport, port: .named(pick(["web", "web", "metrics", "none"])))
            }
        }

        mutating func peer() -> PolicyPeer {
            switch count(5) {
            case 0: return .ipBlock(cidr: try! IPNetwork(parsing: "10.244.0.0/16"), except: [try! IPNetwork(parsing: "10.244.2.0/24")])
            case 1: return .ipBlock(cidr: try! IPNetwork(parsing: "fd00::/8"), except: [])
            case 2: return .pods(podSelector: selector(), namespaceSelector: nil)
            case 3: return .pods(podSelector: nil, namespaceSelector: namespaceSelector())
            default: return .pods(podSelector: selector(), namespaceSelector: namespaceSelector())
            }
        }

        mutating func rules() -> [PolicyRule] {
            (0..<count(2)).map { _ in
                PolicyRule(peers: (0..<count(2)).map { _ in peer() }, ports: (0..<count(2)).map { _ in port() })
            }
        }

        mutating func policy(_ number: Int) -> NetworkPolicy {
            let egress = chance(60)
            return NetworkPolicy(namespace: pick(["n0", "n1", "n2"]), name: "np\(number)", podSelector: selector(),
                                 isolatesIngress: !egress || chance(50), isolatesEgress: egress,
                                 ingress: rules(), egress: rules())
        }

        mutating func cluster() -> ClusterState {
            // n9 is in no List: its pods' namespace has its name label only.
            let namespaces = ["n0", "n1", "n2"].map { name in
                ClusterNamespace(name: name, labels: chance(60) ? ["team": pick(["x", "y"])] : [:])
            }
            return ClusterState(namespaces: namespaces, pods: (0..<count(12)).map { _ in pod() },
                                policies: (0..<(2 + count(3))).map { policy($0) })
        }

        /// One pod's change: (old, new), never the namespace or name.
        mutating func change(of cluster: ClusterState) -> (old: ClusterPod?, new: ClusterPod?) {
            guard !cluster.pods.isEmpty, !chance(20) else { return (nil, pod()) }
            let old = pick(cluster.pods)
            var new = old
            switch count(7) {
            case 0: return (old, nil)
            case 1: new.labels = labels()
            case 2: new.ips = ips()
            case 3: new.phase = pick([.succeeded, .failed, .running])
            case 4: new.hostNetwork.toggle()
            case 5: new.ports = ports()
            case 6: new.nodeName = pick(["node-a", "node-b", nil])
            default: new = pod(in: old.namespace)
                new.name = old.name
            }
            return (old, new)
        }
    }

    static func replacing(_ old: ClusterPod?, with new: ClusterPod?, in cluster: ClusterState) -> ClusterState {
        var cluster = cluster
        if let old { cluster.pods.removeAll { $0.namespace == old.namespace && $0.name == old.name } }
        if let new { cluster.pods.append(new) }
        return cluster
    }

    /// Random clusters, each taken through a chain of pod changes on one
    /// PolicyMembership: after a nil, either a new one for the changed cluster (as the
    /// caller would) or the same one for the cluster without the change (nil must have
    /// changed nothing).
    @Test func followsFullCompilesThroughRandomPodChanges() throws {
        var generator = Generator(random: SplitMix(seed: 14))
        var changes = 0, refused = 0, edited = 0, edits = 0
        for round in 0..<400 {
            let config = round % 4 == 3 ? Self.ipv4Only : Self.dualStack
            var cluster = generator.cluster()
            var membership = try #require(PolicyMembership(config: config, cluster: cluster))
            var before = try Compiler.compile(config, cluster: cluster)
            for step in 0..<6 {
                let (old, new) = generator.change(of: cluster)
                let next = Self.replacing(old, with: new, in: cluster)
                let after = try Compiler.compile(config, cluster: next)
                let operations = membership.apply(from: old, to: new)
                changes += 1
                edits += operations?.count ?? 0
                if operations?.isEmpty == false { edited += 1 }
                let ok = Self.check(operations, before: before, after: after,
                                    "round \(round) step \(step): \(String(describing: old)) -> \(String(describing: new)) in \(cluster)")
                guard ok else { return }
                if operations == nil {
                    refused += 1
                    if generator.chance(50) { continue }
                    membership = try #require(PolicyMembership(config: config, cluster: next))
                }
                cluster = next
                before = after
            }
        }
        let fraction = Double(refused) / Double(changes)
        print("PolicyMembership: \(changes) pod changes, \(refused) left to a full compile (\(Int(fraction * 100))%),"
              + " \(edited) with \(edits) set edits")
        // Named ports take new numbers now and then; most changes are members only, and
        // many of those change some set (the oracle is not met by doing nothing).
        #expect(fraction > 0.01 && fraction < 0.25)
        #expect(edited > changes / 6)
    }

    @Test func noPolicyNoMembership() {
        let cluster = ClusterState(namespaces: [ClusterNamespace(name: "x")],
                                   pods: [ClusterPod(namespace: "x", name: "a", nodeName: "node-a", ips: [IPAddress("10.244.1.2")!])])
        #expect(PolicyMembership(config: Self.dualStack, cluster: cluster) == nil)
    }

    static let sharedAddressCluster = ClusterState(
        namespaces: [ClusterNamespace(name: "x")],
        pods: [ClusterPod(namespace: "x", name: "old", labels: ["app": "a"], nodeName: "node-a", ips: [IPAddress("10.244.1.2")!]),
               ClusterPod(namespace: "x", name: "new", labels: ["app": "a"], nodeName: "node-a", ips: [IPAddress("10.244.1.2")!])],
        policies: [NetworkPolicy(namespace: "x", name: "np", podSelector: LabelSelector(matchLabels: ["app": "a"]),
                                 isolatesIngress: true, isolatesEgress: false,
                                 ingress: [PolicyRule(peers: [.pods(podSelector: .everything, namespaceSelector: nil)])])])

    /// A finished pod's address handed to a new pod: while either holds it, it stays.
    @Test func anAddressTwoPodsShareStaysWhileOneHoldsIt() throws {
        var membership = try #require(PolicyMembership(config: Self.dualStack, cluster: Self.sharedAddressCluster))
        let old = Self.sharedAddressCluster.pods[0]
        let first = membership.apply(from: old, to: nil)
        #expect(first == [])
        let last = Self.sharedAddressCluster.pods[1]
        let second = membership.apply(from: last, to: nil)
        let operations = try #require(second)
        // Gone from the target set, the peer set and the isolated set.
        #expect(operations.count == 3)
        #expect(operations.allSatisfy { if case .delete(_, let entry) = $0 { entry == IPSetEntry(host: IPAddress("10.244.1.2")!) } else { false } })
    }

    /// A pod whose named port takes a number no rule has yet: the rules change.
    @Test func aNewNamedPortNumberIsLeftToAFullCompile() throws {
        func pod(_ name: String, port: UInt16) -> ClusterPod {
            ClusterPod(namespace: "x", name: name, labels: ["app": "a"], nodeName: "node-a",
                       ips: [IPAddress("10.244.1.\(name.utf8.first! - 90)")!],
                       ports: [ContainerPort(name: "web", port: port, transport: .tcp)])
        }
        let cluster = ClusterState(
            namespaces: [ClusterNamespace(name: "x")], pods: [pod("a", port: 80)],
            policies: [NetworkPolicy(namespace: "x", name: "np", isolatesIngress: true, isolatesEgress: false,
                                     ingress: [PolicyRule(ports: [PolicyPort(port: .named("web"))])])])
        var membership = try #require(PolicyMembership(config: Self.dualStack, cluster: cluster))
        let newNumber = membership.apply(from: nil, to: pod("b", port: 8080))
        #expect(newNumber == nil)
        // Nothing was taken in: the same number again is a member's change only.
        let sameNumber = membership.apply(from: nil, to: pod("c", port: 80))
        #expect(sameNumber?.isEmpty == false)
        // Leaving 80 (which c still holds) for a new number: refused, and 80 keeps both.
        let moving = membership.apply(from: pod("a", port: 80), to: pod("a", port: 8080))
        #expect(moving == nil)
        // The last pod of 80 going: its rule goes.
        let oneOfTwo = membership.apply(from: pod("a", port: 80), to: nil)
        #expect(oneOfTwo != nil)
        let lastOne = membership.apply(from: pod("c", port: 80), to: nil)
        #expect(lastOne == nil)
    }

    /// An egress rule to two peers with a named port: each number's set is made once per
    /// rule, from the first peer the name takes that number on, and holds only that peer's
    /// pods (the second peer's rule matches the same set). Pods joining either peer, or
    /// neither, follow the compile.
    @Test func anEgressNamedPortOfTwoPeersFollowsTheCompile() throws {
        func pod(_ name: String, app: String, _ host: Int) -> ClusterPod {
            ClusterPod(namespace: "x", name: name, labels: ["app": app], nodeName: "node-b", ips: [IPAddress("10.244.2.\(host)")!],
                       ports: [ContainerPort(name: "web", port: 80, transport: .tcp)])
        }
        let source = ClusterPod(namespace: "x", name: "source", labels: ["app": "source"], nodeName: "node-a",
                                ips: [IPAddress("10.244.1.2")!])
        let policy = NetworkPolicy(namespace: "x", name: "e", podSelector: LabelSelector(matchLabels: ["app": "source"]),
                                   isolatesIngress: false, isolatesEgress: true,
                                   egress: [PolicyRule(peers: [.pods(podSelector: LabelSelector(matchLabels: ["app": "a0"]), namespaceSelector: nil),
                                                               .pods(podSelector: LabelSelector(matchLabels: ["app": "a1"]), namespaceSelector: nil)],
                                                       ports: [PolicyPort(port: .named("web"))])])
        var cluster = ClusterState(namespaces: [ClusterNamespace(name: "x")],
                                   pods: [source, pod("a", app: "a0", 2), pod("b", app: "a1", 3)], policies: [policy])
        var membership = try #require(PolicyMembership(config: Self.ipv4Only, cluster: cluster))
        for added in [pod("c", app: "a1", 4), pod("d", app: "a2", 5), pod("e", app: "a0", 6)] {
            let before = try Compiler.compile(Self.ipv4Only, cluster: cluster)
            cluster.pods.append(added)
            let operations = membership.apply(from: nil, to: added)
            #expect(Self.check(operations, before: before, after: try Compiler.compile(Self.ipv4Only, cluster: cluster), added.name))
        }
    }

    /// Issue 14's cluster (Tests/Bench/netpol_bench.py's inputs, in the directory
    /// PODNET_MEMBERSHIP_BENCH names): the added pod's operations are the compiles'
    /// difference; the times are printed (meaningful in a release build).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PODNET_MEMBERSHIP_BENCH"] != nil))
    func benchClusterOnePodAdded() throws {
        let directory = ProcessInfo.processInfo.environment["PODNET_MEMBERSHIP_BENCH"]!
        let config = directory + "/netpol-config.json"
        let loaded = try ConfigLoader.load(configPath: config, clusterPath: directory + "/cluster.json")
        let added = try ConfigLoader.load(configPath: config, clusterPath: directory + "/cluster-added.json")
        let cluster = try #require(loaded.cluster), next = try #require(added.cluster)
        let pod = try #require(next.pods.first { new in !cluster.pods.contains { $0.namespace == new.namespace && $0.name == new.name } })
        let clock = ContinuousClock()
        var compiled: DesiredState?
        let compile = try clock.measure { compiled = try Compiler.compile(loaded.config, cluster: cluster) }
        var built: PolicyMembership?
        let build = clock.measure { built = PolicyMembership(config: loaded.config, cluster: cluster) }
        var membership = try #require(built)
        var operations: [IPSetOperation]?
        let apply = clock.measure { operations = membership.apply(from: nil, to: pod) }
        // Many times over (the pod removed and added again) for a steadier figure.
        let rounds = 200
        let repeated = clock.measure {
            for _ in 0..<rounds {
                _ = membership.apply(from: pod, to: nil)
                _ = membership.apply(from: nil, to: pod)
            }
        }
        print("PolicyMembership at \(cluster.pods.count) pods, \(cluster.policies.count) policies: compile \(compile), build \(build),"
              + " one pod added \(apply) (\(repeated / (2 * rounds)) a change over \(2 * rounds)), \(operations?.count ?? -1) operations")
        let after = try Compiler.compile(added.config, cluster: next)
        #expect(Self.check(operations, before: try #require(compiled), after: after, "the bench's added pod"))
    }
}
