#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNet
import PodNetSystem

/// The iptables backend: reads a table and applies typed operations to it in one
/// commit, through libiptc / libip6tc, optionally inside another network namespace
/// (the calling thread is back in its own namespace when a call returns).
public struct Iptables: Sendable {
    public var namespace: NetworkNamespace?
    public var lock: XtablesLock
    /// Commits tried before giving up when the table keeps changing underneath (EAGAIN).
    public var maxAttempts: Int
    /// The namespace's ipsets by kernel index, for rules that match a set (read by the
    /// caller, which knows the sets, beside the rules).
    public var sets = IPSetIndexes()

    public init(namespace: NetworkNamespace? = nil, lock: XtablesLock = .fromEnvironment(), maxAttempts: Int = 3) {
        self.namespace = namespace
        self.lock = lock
        self.maxAttempts = maxAttempts
    }

    /// Reads one table (`iptables-save -t TABLE`, without printing). Takes no lock:
    /// the kernel hands out a table in one consistent copy, as for iptables-save.
    /// Throws `IptablesError`. `foreignChainEntries: false` leaves the rules of foreign
    /// user chains unread (see `TableSnapshot.foreignChainEntriesRead`).
    public func snapshot(_ id: TableID, foreignChainEntries: Bool = true) throws -> TableSnapshot {
        try withHandle(id, locking: nil) { handle in
            try TableSnapshot(reading: handle, id: id, foreignChainEntries: foreignChainEntries, sets: sets)
        }
    }

    /// One transaction on one table: under the xtables lock, reads the table, asks
    /// `operations` what to do given what it holds, applies that in memory and commits
    /// once (`iptables-restore --noflush` of the same edits). Nothing is committed when
    /// the list is empty. When the kernel reports the table changed since it was read
    /// (EAGAIN), everything is read and computed again, up to `maxAttempts` times.
    /// Counters of untouched rules and of policies survive the commit (libiptc carries
    /// them over).
    @discardableResult
    public func transact(_ id: TableID, foreignChainEntries: Bool = true,
                         operations: (TableSnapshot) throws -> [TableOperation]) throws -> TransactionOutcome {
        for attempt in 1...max(maxAttempts, 1) {
            let outcome = try withHandle(id, locking: lock) { handle -> TransactionOutcome? in
                let snapshot = try TableSnapshot(reading: handle, id: id, foreignChainEntries: foreignChainEntries,
                                                 sets: sets)
                let list = try operations(snapshot)
                guard !list.isEmpty else { return TransactionOutcome(operations: [], attempts: attempt) }
                let applier = OperationApplier(handle: handle, table: id, sets: sets)
                for operation in list { try applier.apply(operation) }
                try preservePolicyCounters(snapshot, handle)
                do {
                    try handle.commit()
                } catch let error as LibiptcError where error.errno == EAGAIN {
                    return nil
                } catch let error as LibiptcError {
                    throw IptablesError.commitRejected(table: id, errno: error.errno, message: error.message,
                                                       operations: list)
                }
                return TransactionOutcome(operations: list, attempts: attempt)
            }
            if let outcome { return outcome }
        }
        throw IptablesError.concurrentChanges(table: id, attempts: max(maxAttempts, 1))
    }

    /// libiptc's commit zeroes the policy counters of built-in chains (seen with
    /// iptables-legacy 1.8.9 on this kernel: any `-A` resets `:INPUT ACCEPT [n:m]`), so
    /// they are handed back explicitly. Packets counted between the read and the
    /// commit are the only ones lost.
    private func preservePolicyCounters(_ snapshot: TableSnapshot, _ handle: LibiptcHandle) throws {
        for builtin in snapshot.builtinChains {
            do {
                try handle.setPolicy(builtin.chain.rawValue, builtin.policy.rawValue, counters: builtin.policyCounters)
            } catch {
                throw IptablesError.libiptc(table: snapshot.id, call: error.call, errno: error.errno,
                                         message: error.message)
            }
        }
    }

    /// Holds the process-wide libiptc lock and, when given, the xtables lock (so that
    /// the table is read under it, as iptables does: init..commit), enters the
    /// namespace and opens a handle for the duration of `body`; the handle is freed
    /// before the thread leaves the namespace.
    private func withHandle<T: Sendable>(_ id: TableID, locking xtablesLock: XtablesLock?,
                                         _ body: (LibiptcHandle) throws -> T) throws -> T {
        let result: Result<T, any Error> = libiptcLock.withLock { _ in
            do {
                func inNamespace() throws -> T {
                    try NetworkNamespace.run(in: namespace) {
                        let handle: LibiptcHandle
                        do {
                            handle = try LibiptcHandle(family: id.family, table: id.table)
                        } catch let error as LibiptcError {
                            throw IptablesError.libiptc(table: id, call: error.call, errno: error.errno,
                                                        message: error.message)
                        }
                        return try body(handle)
                    }
                }
                return .success(try xtablesLock.map { try $0.withLock(inNamespace) } ?? inNamespace())
            } catch let error as NamespaceError {
                return .failure(IptablesError.namespace(error))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// What a transaction did.
public struct TransactionOutcome: Sendable, Hashable {
    /// The operations committed; empty when there was nothing to do (and no commit).
    public var operations: [TableOperation]
    /// 1 unless the table changed underneath and the transaction was recomputed.
    public var attempts: Int

    public var committed: Bool { !operations.isEmpty }
}
