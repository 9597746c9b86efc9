import Foundation
import PodNet
import PodNetTestSupport
import Testing
@testable import PodNetIptables

/// Another process (flock(1)) holds the transaction's lock file.
@Suite(.serialized) struct LockKernelTests {
    /// Starts `flock PATH COMMAND...` and returns once the lock is held.
    func holdLock(_ path: String, _ command: [String], stdin: Pipe? = nil) throws -> Process {
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [path] + command
        if let stdin { holder.standardInput = stdin }
        try holder.run()
        // Until `flock -n` fails, the holder has not taken the lock yet.
        while (try? runCommand(["flock", "-n", path, "true"])) != nil {
            #expect(holder.isRunning, "the lock holder exited before taking the lock")
            if !holder.isRunning { break }
            usleep(10_000)
        }
        return holder
    }

    @Test(.enabled(if: KernelTest.enabled))
    func transactionWaitsForTheLockThenProceeds() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let lock = testLock(wait: .seconds(60))
        let done = lock.path + ".released"
        defer { try? FileManager.default.removeItem(atPath: done) }
        // Holding the lock, the holder changes the table (iptables-legacy on a lock file
        // of its own) and marks its end just before it releases the lock.
        let otherLock = testLock().path
        let holder = try holdLock(lock.path, ["sh", "-c", "sleep 1; env XTABLES_LOCKFILE=\(otherLock) ip netns exec "
                                              + "\(namespace.name) iptables-legacy -A INPUT -j ACCEPT && touch \(done)"])
        defer { holder.waitUntilExit() }
        var markerSeenUnderLock = false, inputCounts: [Int] = []
        let outcome = try Iptables(namespace: namespace.namespace, lock: lock).transact(TableID(.ipv4, .filter)) { snapshot in
            markerSeenUnderLock = FileManager.default.fileExists(atPath: done)
            inputCounts.append(snapshot.builtinChain(.input)?.entries.count ?? -1)
            return [.createChain("PODNET-LOCKED")]
        }
        #expect(markerSeenUnderLock)
        // The table was read under the lock, after the holder's change: no EAGAIN retry.
        #expect(inputCounts == [1] && outcome.attempts == 1)
        #expect(outcome.committed)
        #expect(try namespace.save(TableID(.ipv4, .filter)).contains(":PODNET-LOCKED - [0:0]"))
    }

    @Test(.enabled(if: KernelTest.enabled))
    func transactionFailsWithTheLockErrorWhenItsWaitExpires() throws {
        let namespace = try TestNamespace()
        defer { namespace.delete() }
        let lock = testLock(wait: .milliseconds(300))
        let release = Pipe()
        // `cat` holds the lock until its stdin closes.
        let holder = try holdLock(lock.path, ["cat"], stdin: release)
        defer {
            try? release.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        var computed = false
        #expect {
            try Iptables(namespace: namespace.namespace, lock: lock).transact(TableID(.ipv4, .filter)) { _ in
                computed = true
                return [.createChain("PODNET-NEVER")]
            }
        } throws: { error in
            guard case IptablesError.lockTimeout(let path, _) = error else { return false }
            return path == lock.path && "\(error)".contains("xtables lock \(lock.path)")
        }
        #expect(!computed)
        #expect(try !namespace.save(TableID(.ipv4, .filter)).contains("PODNET-NEVER"))
    }

    @Test func lockPathHonoursXtablesLockfile() {
        #expect(XtablesLock.path(lockfileVariable: nil) == "/run/xtables.lock")
        #expect(XtablesLock.path(lockfileVariable: "") == "/run/xtables.lock")
        #expect(XtablesLock.path(lockfileVariable: "/tmp/other.lock") == "/tmp/other.lock")
    }
}
