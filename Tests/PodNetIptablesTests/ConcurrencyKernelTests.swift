import Foundation
import Dispatch
import PodNet
import PodNetTestSupport
import Testing
@testable import PodNetIptables

/// libiptc is not thread-safe (iptc_strerror reads a process-wide record of the last
/// function called, and the library reports through errno), so every handle's life,
/// init to free, is serialised by one process-wide lock. These tests hold that
/// contract: the first fails when the lock is removed; the second shows that
/// transactions from many threads still land in their own namespace and table only.
@Suite struct ConcurrencyKernelTests {
    /// While one thread holds a handle, another thread's transaction (for another
    /// namespace, under another xtables lock file, so only the libiptc lock can hold
    /// it back) must not open one. The holder waits a while for the other to get in;
    /// with the lock the other enters only after the holder is done.
    @Test(.enabled(if: KernelTest.enabled))
    func noTwoThreadsHoldALibiptcHandleAtOnce() throws {
        let first = try TestNamespace(), second = try TestNamespace()
        defer { first.delete(); second.delete() }
        let holderInside = DispatchSemaphore(value: 0), otherInside = DispatchSemaphore(value: 0)
        let events = FailureLog()
        // Threads of their own: a pool's threads may all be busy with other tests.
        let holderDone = DispatchSemaphore(value: 0), otherDone = DispatchSemaphore(value: 0)
        Thread {
            defer { holderDone.signal() }
            do {
                try Iptables(namespace: first.namespace, lock: testLock()).transact(TableID(.ipv4, .filter)) { _ in
                    events.append("holder in")
                    holderInside.signal()
                    if otherInside.wait(timeout: .now() + .milliseconds(500)) == .success {
                        events.append("other entered while the holder had its handle")
                    }
                    events.append("holder out")
                    return []
                }
            } catch {
                events.append("holder: \(error)")
            }
        }.start()
        holderInside.wait()
        Thread {
            defer { otherDone.signal() }
            do {
                try Iptables(namespace: second.namespace, lock: testLock()).transact(TableID(.ipv6, .filter)) { _ in
                    events.append("other in")
                    otherInside.signal()
                    return []
                }
            } catch {
                events.append("other: \(error)")
            }
        }.start()
        holderDone.wait()
        otherDone.wait()
        #expect(events.messages == ["holder in", "holder out", "other in"])
    }

    @Test(.enabled(if: KernelTest.enabled))
    func concurrentTransactionsInSeparateNamespaces() throws {
        let namespaces = try (0..<4).map { _ in try TestNamespace() }
        defer { namespaces.forEach { $0.delete() } }
        let failures = FailureLog()
        DispatchQueue.concurrentPerform(iterations: namespaces.count * 4) { index in
            let namespace = namespaces[index % namespaces.count]
            let family: IPFamily = index % 2 == 0 ? .ipv4 : .ipv6
            let chain = ChainName("PODNET-T\(index)")
            do {
                let backend = Iptables(namespace: namespace.namespace, lock: testLock())
                try backend.transact(TableID(family, .filter)) { _ in
                    [.createChain(chain), .appendRule(chain, Rule(target: .returnFromChain))]
                }
                let snapshot = try backend.snapshot(TableID(family, .filter))
                if snapshot.podnetChain(chain)?.rules.map(\.rule) != [Rule(target: .returnFromChain)] {
                    failures.append("\(chain) missing from its snapshot")
                }
            } catch {
                failures.append("\(chain): \(error)")
            }
        }
        #expect(failures.messages.isEmpty)
        for (position, namespace) in namespaces.enumerated() {
            for family in IPFamily.allCases {
                let expected = (0..<(namespaces.count * 4))
                    .filter { $0 % namespaces.count == position && ($0 % 2 == 0) == (family == .ipv4) }
                    .map { ":PODNET-T\($0) - [0:0]" }.sorted()
                let declared = try namespace.save(TableID(family, .filter)).split(separator: "\n").map(String.init)
                    .filter { $0.hasPrefix(":PODNET-") }
                #expect(declared == expected, "\(namespace.name) \(family)")
            }
        }
    }
}

/// Messages collected from concurrent work; the lock orders the appends.
final class FailureLog: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private var stored: [String] = []

    func append(_ message: String) {
        lock.wait()
        stored.append(message)
        lock.signal()
    }

    var messages: [String] {
        lock.wait()
        defer { lock.signal() }
        return stored
    }
}
