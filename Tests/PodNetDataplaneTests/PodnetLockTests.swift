import Foundation
import PodNetDataplane
import Testing

/// The per-namespace lock as a reader-writer lock across processes (here: threads, each
/// with its own open file description, which flock treats as separate holders).
@Suite struct PodnetLockTests {
    /// Six shared holders take turns so that at every moment one holds the lock (as a
    /// stream of parallel CNI requests does); an exclusive request must still get its turn
    /// within its wait, and the shared ones must not run beside it.
    @Test func anExclusiveWaiterGetsItsTurnBetweenSharedHolders() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("podnet-lock-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lock = PodnetLock(path: directory + "/netns.lock", wait: .seconds(1))
        let state = LockState()
        let group = DispatchGroup()
        for reader in 0..<6 {
            DispatchQueue.global().async(group: group) {
                usleep(UInt32(reader) * 4_000)
                while !state.stopped {
                    try? lock.withLock(shared: true) {
                        state.enter(exclusive: false)
                        usleep(20_000)
                        state.leave(exclusive: false)
                    }
                }
            }
        }
        usleep(100_000)
        let result = Result { try lock.withLock(shared: false) { state.enter(exclusive: true); usleep(5_000); state.leave(exclusive: true) } }
        state.stop()
        group.wait()
        #expect(throws: Never.self) { try result.get() }
        #expect(state.sharedRunsSeen > 3, "the shared holders ran: \(state.sharedRunsSeen)")
        #expect(!state.overlapped, "a shared holder ran beside the exclusive one")
    }
}

private final class LockState: @unchecked Sendable {
    private let lock = NSLock()
    private var shared = 0, exclusive = 0, runs = 0, overlap = false, stop_ = false
    var stopped: Bool { lock.withLock { stop_ } }
    var sharedRunsSeen: Int { lock.withLock { runs } }
    var overlapped: Bool { lock.withLock { overlap } }
    func stop() { lock.withLock { stop_ = true } }
    func enter(exclusive isExclusive: Bool) {
        lock.withLock {
            if isExclusive { exclusive += 1; overlap = overlap || shared > 0 } else { shared += 1; runs += 1; overlap = overlap || exclusive > 0 }
        }
    }
    func leave(exclusive isExclusive: Bool) {
        lock.withLock { if isExclusive { exclusive -= 1 } else { shared -= 1 } }
    }
}
