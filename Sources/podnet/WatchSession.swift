#if canImport(Glibc)
import Glibc
#endif
import Logging
import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetDataplane
import PodNetSystem

/// What `podnet watch` holds between batches: the objects it was given and told of,
/// and the state its last apply made, from which a batch's change is worked out.
struct WatchSession {
    let input: InputOptions
    let node: NodeOptions
    let store: StoreOptions
    let logger: Logger
    /// The config file, read once: every apply validates it again with the Lists of the moment.
    let configText: String
    var objects = WatchedObjects()
    /// Node objects go in the cluster List when the snapshot was one (`--cluster` without
    /// `--nodes`), in a NodeList of their own otherwise.
    let nodesInCluster: Bool

    /// The state the last apply made: its config (attachments included) and desired state.
    var config: NodeConfig?
    var desired: DesiredState?
    /// Whether the cluster has a NetworkPolicy, the only thing pods matter to.
    var hasPolicies = false
    /// The pods of `cluster` by key, at their attachments' addresses until the kubelet
    /// reports them (`placement`).
    var pods: [ObjectKey: ClusterPod] = [:]
    /// The addresses of the CNI plugin's attachments, by the pod of Kubernetes they serve.
    var placement = AttachmentPlacement(node: "")
    /// The attachments (their pods' model names) of the last read of the store: a record
    /// not among them is new, and its pod's wait may end.
    var knownAttachments: Set<String> = []
    /// The policy sets' members, ready to move with a pod (nil: no policy, or not built).
    var membership: PolicyMembership?
    /// What the peers' routes depend on, read at the first Node event after a whole apply.
    var peerContext: PeerRouteContext?
    /// The peers the config file names itself: a Node of one must agree with it, which
    /// only the whole config's check says.
    /// Nil when the config alone does not load (its pod CIDRs come from this node's Node):
    /// then every Node event is a whole apply's.
    var configFilePeers: Set<String>?

    static let clusterKinds: Set<ObjectKind> = [.namespace, .pod, .networkPolicy]

    init(input: InputOptions, node: NodeOptions, store: StoreOptions) throws {
        self.input = input
        self.node = node
        self.store = store
        logger = node.logger()
        nodesInCluster = input.clusterPath != nil && input.nodeListPath == nil
        do {
            configText = try ConfigLoader.configText(path: input.configPath)
            for path in [input.nodeListPath, input.clusterPath].compactMap({ $0 }) {
                let name = path == ConfigLoader.standardInputPath ? "<stdin>" : path
                let bytes: [UInt8]
                switch path == ConfigLoader.standardInputPath ? InputFile.read(descriptor: 0) : InputFile.read(path: path) {
                case .success(let read): bytes = read
                case .failure(let failure):
                    throw ConfigError(diagnostics: [ConfigDiagnostic(file: name, fieldPath: "",
                                                                     message: "cannot read the file: \(failure.reason)")])
                }
                try objects.take(list: bytes, source: name)
            }
        } catch let error as ConfigError {
            Diagnostics.error(error.description)
            throw ExitStatus.invalidInput
        }
    }

    /// When the last whole apply ended: `--resync` counts from there.
    private(set) var lastWholeApply = ContinuousClock.now

    /// A whole apply of the objects at hand, for nothing watch was told: it repairs what
    /// changed on the node behind watch's back (a rule, a set member, a route removed by
    /// hand), which the cheap paths never read.
    mutating func resync() throws {
        let started = ContinuousClock.now
        do {
            try applyInFull(try load())
        } catch let error as ConfigError {
            // The state validated when it was taken in; only a node config changed since could fail.
            Diagnostics.error(error.description + "\n(resync: nothing changed)")
            lastWholeApply = .now
            return
        }
        announce("resync: full apply", since: started)
    }

    /// The first apply: invalid input exits 65, as apply.
    mutating func start() throws {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try applyInFull(try load())
        } catch let error as ConfigError {
            Diagnostics.error(error.description)
            throw ExitStatus.invalidInput
        }
        configFilePeers = configFilePeerNames()
        announce("initial apply of \(objects.count) objects", since: started)
    }

    /// The peers the config file names, from the config loaded with this node's own Node only.
    private func configFilePeerNames() -> Set<String>? {
        (try? loadAlone(nil, name: "this node's Node")).map { Set($0.config.peers.map(\.name)) }
    }

    /// The kinds the cluster List holds.
    var clusterListKinds: Set<ObjectKind> { nodesInCluster ? Self.clusterKinds.union([.node]) : Self.clusterKinds }

    /// The config loaded with `object` alone (nil: none) beside this node's own Node (its
    /// pod CIDRs may come from it), each in the List it belongs in: one object read and
    /// checked as an item of a whole List is, without reading the whole List.
    func loadAlone(_ object: ClusterObject?, name: String) throws(ConfigError) -> LoadedConfig {
        var single = WatchedObjects()
        if let object { single.insert(object) }
        if let own = config.map({ ObjectKey(kind: .node, name: $0.node.name) }), let json = objects[own] {
            single.insert(ClusterObject(key: own, json: json))
        }
        let nodes = single.keys(of: [.node]).isEmpty || nodesInCluster ? nil : (data: single.list(of: [.node]), name: name)
        let clusterKinds = clusterListKinds
        let cluster = single.keys(of: clusterKinds).isEmpty ? nil : (data: single.list(of: clusterKinds), name: name)
        return try ConfigLoader.load(configText: configText, configName: input.configPath, nodeList: nodes, cluster: cluster)
    }

    /// One batch of documents: taken in, then applied as cheaply as what changed allows.
    /// A batch whose state does not validate is taken again one document at a time, so
    /// that only the documents at fault are refused.
    mutating func process(_ batch: [EventStreams.Document]) throws {
        if try !processTogether(batch, reportingRefusal: batch.count == 1), batch.count > 1 {
            for document in batch { _ = try processTogether([document], reportingRefusal: true) }
        }
    }

    /// False when the state after the batch does not validate (and nothing changed).
    private mutating func processTogether(_ batch: [EventStreams.Document], reportingRefusal: Bool) throws -> Bool {
        let clock = ContinuousClock()
        let started = clock.now
        // Each object the batch touches, with its text before the batch (nil: it was new).
        var changed: [ObjectKey: [UInt8]?] = [:]
        var events = 0
        for document in batch {
            let read: WatchDocument
            do {
                read = try WatchDocument.read(document.bytes, source: document.source)
            } catch {
                Diagnostics.error(error.description + " (ignored: it changes nothing)")
                continue
            }
            switch read {
            case .bookmark:
                continue
            case .event(let event):
                events += 1
                let previous = objects.take(event)
                if changed[event.object.key] == nil { changed[event.object.key] = .some(previous) }
            case .list(let kinds, let items):
                events += 1
                for key in objects.keys(of: kinds) where changed[key] == nil { changed[key] = .some(objects[key]) }
                for item in items where changed[item.key] == nil { changed[item.key] = .some(objects[item.key]) }
                objects.replace(kinds: kinds, with: items)
            }
        }
        // Objects printed again as they were (kubectl's listing at its start) change nothing.
        let changes = changed.filter { $0.value != objects[$0.key] }
        guard !changes.isEmpty else {
            announce("\(counted(events, "event")) changed nothing", since: started)
            return true
        }
        let how: String
        do {
            if let cheap = try applyAlone(changes) {
                how = cheap
            } else {
                try applyInFull(try load())
                how = "full apply"
            }
        } catch let error as ConfigError {
            // Back to the objects before the batch: what each changed one was then.
            for (key, previous) in changed {
                if let previous { objects.insert(ClusterObject(key: key, json: previous)) } else { objects.remove(key) }
            }
            guard reportingRefusal else { return false }
            Diagnostics.error(error.description + "\n(from " + batch.map(\.source).joined(separator: ", ")
                              + ": the state with " + describe(changes) + " does not validate; nothing changed)")
            announce("\(counted(events, "event")) refused (\(describe(changes))): nothing changed", since: started)
            return false
        }
        announce("\(counted(events, "event")) applied (\(describe(changes))): \(how)", since: started)
        return true
    }

    /// The Lists a one-shot apply would be given for the objects at hand, loaded and validated.
    func load() throws(ConfigError) -> LoadedConfig {
        let nodeList = nodesInCluster || (input.nodeListPath == nil && !objects.contains(kind: .node))
            ? nil : (data: objects.list(of: [.node]), name: "the watched nodes")
        let cluster = input.clusterPath == nil && !Self.clusterKinds.contains(where: objects.contains(kind:))
            ? nil : (data: objects.list(of: clusterListKinds), name: "the watched cluster")
        return try ConfigLoader.load(configText: configText, configName: input.configPath, nodeList: nodeList, cluster: cluster)
    }

    /// A whole apply, as `podnet apply` of the same Lists, and what the cheap paths need from it.
    mutating func applyInFull(_ loaded: LoadedConfig) throws {
        for warning in loaded.warnings { Diagnostics.warn(warning.description) }
        let applied = try store.locked { try NodeApplication.apply(loaded, node: node, store: store, logger: logger) }
        try report(applied.result, node, bridge: applied.desired.bridge)
        config = applied.config
        hasPolicies = !(loaded.cluster?.policies.isEmpty ?? true)
        desired = applied.desired
        placement = AttachmentPlacement(applied.config)
        knownAttachments = Set(applied.config.pods.filter { $0.kubernetesPod != nil }.map(\.name))
        pods = Dictionary((loaded.cluster?.pods ?? []).map(placement.place).map {
            (ObjectKey(kind: .pod, namespace: $0.namespace, name: $0.name), $0)
        }, uniquingKeysWith: { first, _ in first })
        membership = loaded.cluster.flatMap { PolicyMembership(config: applied.config, cluster: $0) }
        peerContext = nil
        lastWholeApply = .now
    }

    /// The CNI plugin recorded or released attachments (`StoreWatch`): a pod of Kubernetes
    /// the List has without an address stands at its new attachment's (or no longer at a
    /// released one's), which moves set members only, milliseconds after ADD, where the
    /// kubelet's report of the address comes at its next sync; then every attachment whose
    /// pod the List places ends its wait (one that came back at the address its pod had,
    /// as a sandbox made again does, changes no placement but waits anew). Under the
    /// store's lock, as ADD and DEL write records and waits: the records read are the
    /// kernel's waits. Without a policy, addresses matter to nothing here. A store that
    /// cannot be read is read again at the next full apply.
    mutating func attachmentsChanged() throws {
        guard var bare = config, hasPolicies else { return }
        let started = ContinuousClock.now
        bare.pods = []
        bare.hostPorts = []
        var changes: [ObjectKey: [UInt8]?] = [:]
        /// Nil: nothing changed; `wholeApply`: a whole apply, after the lock (it takes it itself).
        var how: String?
        let wholeApply = "full apply"
        let store = self.store
        do {
            how = try store.locked { () throws -> String? in
                // A record that cannot be read is named (by `allocations`).
                guard let allocations = try? store.allocations() else { return nil }
                let attachments = bare.including(allocations.filter(\.namespaceExists))
                let current = AttachmentPlacement(attachments)
                let changed = Set(placement.addresses.keys).union(current.addresses.keys)
                    .filter { placement.addresses[$0] != current.addresses[$0] }
                let keys = changed.map { ObjectKey(kind: .pod, namespace: $0.namespace, name: $0.name) }
                    .filter { objects[$0] != nil }
                changes = Dictionary(uniqueKeysWithValues: keys.map { ($0, [UInt8]?.none) })
                let before = placement
                placement = current
                var how: String?
                if !keys.isEmpty {
                    do {
                        guard let cheap = try applyPodChanges(changes) else { return wholeApply }
                        how = cheap
                    } catch {
                        placement = before
                        throw error
                    }
                }
                let fresh = attachments.pods.filter { !knownAttachments.contains($0.name) }
                knownAttachments = Set(attachments.pods.filter { $0.kubernetesPod != nil }.map(\.name))
                let ended = endedWaits(fresh, config: attachments)
                if !ended.isEmpty {
                    try node.dataplane().removeFromSets(ended)
                    how = how.map { $0 == Self.noSetChanges ? "waits ended, no table read or committed" : $0 + "; waits ended" }
                        ?? "waits ended, no table read or committed"
                }
                return how
            }
        } catch let error as ConfigError {
            // The objects validated when they came: only a node config changed since could fail.
            Diagnostics.error(error.description + "\n(attachments changed: nothing changed)")
            return
        }
        if how == wholeApply { try applyInFull(try load()) }
        guard let how else { return }
        announce("attachments" + (changes.isEmpty ? "" : " of \(describe(changes))") + " changed: \(how)", since: started)
    }

    /// The wait entries of the attachments whose pods the List places (with the pods as
    /// watch holds them), to be taken out where present.
    private func endedWaits(_ attachments: [PodSpec], config attachmentsConfig: NodeConfig) -> [PodSetMembers] {
        let placed = PolicyWait.entries(of: attachments, config: attachmentsConfig, listed: { name in
            pods[ObjectKey(kind: .pod, namespace: name.namespace, name: name.name)]
        }).placed
        return placed.keys.sorted().map { PodSetMembers(set: PolicyWait.setName($0), entries: placed[$0]!) }
    }

    /// The batch applied without a whole apply, and how; nil when it takes one.
    mutating func applyAlone(_ changes: [ObjectKey: [UInt8]?]) throws -> String? {
        if changes.keys.allSatisfy({ $0.kind == .pod }) {
            // Under the store's lock: a release of a pod's wait reads which attachment holds
            // its address, as ADD and DEL change them. (Not around the other paths: they
            // take it themselves, and an flock is not taken twice.)
            let store = self.store
            return try store.locked { try applyPodChanges(changes) }
        }
        if changes.keys.allSatisfy({ $0.kind == .node }) { return try applyNodeChanges(changes) }
        return nil
    }

    private func describe(_ changes: [ObjectKey: [UInt8]?]) -> String {
        let keys = changes.keys.sorted()
        let named = keys.prefix(3).map(\.description).joined(separator: ", ")
        return keys.count > 3 ? "\(named) and \(keys.count - 3) more" : named
    }

    private func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    /// The line a script waits for, after the batch's plan: flushed, since stdout is
    /// usually a pipe.
    private func announce(_ what: String, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        print("watch: \(what) in \(milliseconds < 10 ? String(format1: milliseconds) : String(Int(milliseconds.rounded()))) ms")
        fflush(nil)
    }
}

extension String {
    /// One decimal, without Foundation's formatting.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
