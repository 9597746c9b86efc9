import PodNet

extension NodeDataplane {
    /// A pod come, gone, relabelled or readdressed, where policy is concerned: the
    /// members of the sets its selectors made move, and nothing else does. The rules
    /// match sets, not pods, so no table is read or committed, and a packet sees the set
    /// before or after each change, never a table half-written. Under the podnet lock,
    /// as apply; a member the kernel refuses (a set someone destroyed, an entry already
    /// there) undoes the others and throws, and the caller applies in full, which
    /// repairs what differs.
    ///
    /// `released`: entries taken out afterwards where present, whoever put them there
    /// (the wait set's, which a CNI ADD fills behind the caller's back: `PolicyWait`).
    /// They go last, so that a pod leaves the wait set only once its policy sets hold it.
    public func apply(memberChanges: [IPSetOperation], releasing released: [PodSetMembers] = [], desired: DesiredState,
                      ownership: Ownership) throws -> ApplyResult {
        try PodnetLock.forNamespace(namespace, wait: lockWait).withLock {
            var plan = Plan()
            plan.ipsets = memberChanges
            let executor = try PlanExecutor(namespace: namespace, iptables: iptables, sessions: sessions)
            let result = try executor.execute(plan, desired: desired, bridgeName: ownership.bridgeName,
                                              routeProtocol: ownership.routeProtocol, tables: [])
            try leave(released)
            return result
        }
    }
}
