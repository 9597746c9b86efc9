import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import PodNet
import PodNetConfig

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Apply, then keep the node matching the cluster as kubectl watch events change it.",
        discussion: """
        Makes the node match the config and the snapshot Lists (--nodes, --cluster) as `podnet \
        apply` does, then reads the events of `kubectl get KIND -w --output-watch-events -o json` \
        from each --events stream (a file, a FIFO, <(...) or - for stdin) and applies what each \
        batch of events changes. A pod added, removed, relabelled or given an address changes \
        ipset members only (no table is read or committed); a Node's new InternalIP is one nexthop \
        replace. Any other change (a policy, a namespace's labels, a new node, a named port taking \
        a new number) is a full apply of the state the events make, exactly as `podnet apply` of \
        that state. Events repeating what podnet already has (kubectl lists every object as ADDED \
        when it starts) cost nothing. A List document in a stream stands for every object of its \
        kinds (a resync). Every --resync seconds after the last full apply (300 unless told) \
        comes another, which repairs what changed on the node behind watch's back. The CNI \
        plugin's store (--data-dir) is watched as well: on a node with NetworkPolicy, a pod the \
        plugin attached for Kubernetes is cut off until its policies are known, and its record \
        appearing places it at once (set members only), before the kubelet reports its address.

        After each batch it prints what it changed and one line:
          watch: 1 event applied (namespace x): full apply in 52 ms
        An event that is invalid, or whose state would not validate, is reported on stderr with \
        the stream and event number and changes nothing; watching goes on. The config file is read \
        once.

        Exit status: 0 when every stream has ended, 65 invalid config or snapshot, 1 any other \
        failure (the kernel refusing a write; the node is left as the last apply made it, and \
        running watch again converges it).

        Examples:
          podnet watch -f node.yaml \\
            --cluster <(kubectl get namespaces,pods,networkpolicies -A -o json) \\
            --events <(kubectl get pods -A -w --output-watch-events -o json) \\
            --events <(kubectl get namespaces -w --output-watch-events -o json) \\
            --events <(kubectl get networkpolicies -A -w --output-watch-events -o json)
          podnet watch -f node.yaml --nodes nodes.json \\
            --events <(kubectl get nodes -w --output-watch-events -o json)
        """
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var node: NodeOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .customLong("events"),
            help: ArgumentHelp("A stream of kubectl watch events (repeatable); - reads stdin.", valueName: "file"))
    var eventSources: [String] = []

    @Option(name: .customLong("resync"),
            help: ArgumentHelp("Seconds from one whole apply to the next, which repairs what changed on the node "
                               + "behind watch's back (the cheap paths read only what an event concerns); 0 never.",
                               valueName: "seconds"))
    var resyncSeconds: Double = 300

    func validate() throws {
        guard !eventSources.isEmpty else { throw ValidationError("give at least one --events stream") }
        let stdinUsers = eventSources.filter { $0 == ConfigLoader.standardInputPath }.count
            + [input.nodeListPath, input.clusterPath].filter { $0 == ConfigLoader.standardInputPath }.count
        guard stdinUsers <= 1 else { throw ValidationError("only one of --events, --nodes and --cluster can read stdin") }
        guard resyncSeconds >= 0, resyncSeconds.isFinite else { throw ValidationError("--resync: seconds, 0 or more") }
    }

    func run() throws {
        // A signal mask is inherited: started by a runner that blocks SIGTERM, watch could not
        // be stopped. Killed at any point, the next run converges the node.
        var stopping = sigset_t()
        sigemptyset(&stopping)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopping, signal) }
        pthread_sigmask(SIG_UNBLOCK, &stopping, nil)
        var session = try WatchSession(input: input, node: node, store: storeOptions)
        // Opened first: whoever writes a FIFO may wait for its reader before reading what
        // the first apply prints.
        // With the CNI store beside them: a new attachment places its pod at once.
        var streams = try EventStreams(paths: eventSources, store: StoreWatch(dataDirectory: storeOptions.dataDir))
        try session.start()
        let resync: Duration? = resyncSeconds > 0 ? .milliseconds(Int64(resyncSeconds * 1000)) : nil
        while true {
            let due = resync.map { max($0 - (ContinuousClock.now - session.lastWholeApply), .zero) }
            guard let batch = streams.nextBatch(waitingAtMost: due) else { break }
            // The store first: a report of an address is read knowing which attachment holds it.
            if batch.attachmentsChanged { try session.attachmentsChanged() }
            if !batch.documents.isEmpty { try session.process(batch.documents) }
            // Also between batches that keep coming: a busy cluster is never quiet for long.
            if let resync, ContinuousClock.now - session.lastWholeApply >= resync { try session.resync() }
        }
    }
}
