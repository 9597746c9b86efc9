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
    /// Throws `IptablesError` (`familyUnavailable` when the kernel lacks the family).
    /// `foreignChainEntries: false` leaves the rules of foreign user chains unread (see
    /// `TableSnapshot.foreignChainEntriesRead`).
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
    /// them over). A kernel without the table's family (IPv6 disabled) holds nothing
    /// there: `operations` sees an empty table, and anything it asks for there is
    /// `familyUnavailable`.
    @discardableResult
    public func transact(_ id: TableID, foreignChainEntries: Bool = true,
                         operations: (TableSnapshot) throws -> [TableOperation]) throws -> TransactionOutcome {
        do {
            return try transactOnce(id, foreignChainEntries: foreignChainEntries, operations: operations)
        } catch IptablesError.familyUnavailable(let table, let message) {
            guard try operations(TableSnapshot(emptyTable: id)).isEmpty else {
                throw IptablesError.familyUnavailable(table: table, message: message)
            }
            return TransactionOutcome(operations: [], attempts: 1)
        }
    }

    private func transactOnce(_ id: TableID, foreignChainEntries: Bool,
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
                    // A libiptc commit is two calls, the table's replace and then the carry-over
                    // of the kept rules' counters, and it reports a failure of either. When only
                    // the second failed the new table is in the kernel: it must count as
                    // committed, or a rollback would leave it there.
                    if try Self.replaceLanded(handle, id) {
                        return TransactionOutcome(operations: list, attempts: attempt,
                                                  countersNotCarried: "\(error.message) (errno \(error.errno))")
                    }
                    throw IptablesError.commitRejected(table: id, errno: error.errno, message: error.message,
                                                       operations: list)
                }
                return TransactionOutcome(operations: list, attempts: attempt)
            }
            if let outcome { return outcome }
        }
        throw IptablesError.concurrentChanges(table: id, attempts: max(maxAttempts, 1))
    }

    /// Whether the kernel holds the table `handle` was edited into: podnet's part of
    /// it, read afresh, is what the handle holds after the edits.
    private static func replaceLanded(_ handle: LibiptcHandle, _ id: TableID) throws -> Bool {
        let edited = try TableSnapshot(reading: handle, id: id, foreignChainEntries: false).observed
        let fresh: LibiptcHandle
        do {
            fresh = try LibiptcHandle(family: id.family, table: id.table)
        } catch {
            throw IptablesError.libiptc(table: id, call: error.call, errno: error.errno, message: error.message)
        }
        return try TableSnapshot(reading: fresh, id: id, foreignChainEntries: false).observed == edited
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
                        } catch let error as LibiptcError where error.errno == EAFNOSUPPORT {
                            throw IptablesError.familyUnavailable(table: id, message: error.message)
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
    /// Why the kept rules' packet counters were not carried over to the new table
    /// (nil when they were): the table itself was committed.
    public var countersNotCarried: String?

    public init(operations: [TableOperation], attempts: Int, countersNotCarried: String? = nil) {
        self.operations = operations
        self.attempts = attempts
        self.countersNotCarried = countersNotCarried
    }

    public var committed: Bool { !operations.isEmpty }
}
