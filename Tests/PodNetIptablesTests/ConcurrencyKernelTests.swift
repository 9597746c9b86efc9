import Dispatch
import PodNet
import PodNetTestSupport
import Testing
@testable import PodNetIptables

/// Transactions from many threads at once, each for its own namespace and family,
/// each land in their own namespace and table and nowhere else. (This does not prove
/// the libiptc lock: with the lock removed it still passed in three runs here.)
@Suite struct ConcurrencyKernelTests {
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
