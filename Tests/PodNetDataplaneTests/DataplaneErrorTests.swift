import Testing
import PodNet
import PodNetIptables
import PodNetSystem
@testable import PodNetDataplane

/// An error that reaches the dataplane through an API throwing `any Error` keeps its
/// own words: it once became "cannot return to the original network namespace: Success".
@Suite struct DataplaneErrorTests {
    private struct DiskOnFire: Error, CustomStringConvertible {
        var description: String { "the disk is on fire" }
    }

    @Test func anErrorOfAnotherTypeIsCarriedAsItWasThrown() {
        let error = DataplaneError(DiskOnFire())
        guard case .unexpected(let carried) = error else {
            Issue.record("expected .unexpected, got \(error)")
            return
        }
        #expect(carried is DiskOnFire)
        #expect(error.description == "unexpected error (DiskOnFire): the disk is on fire")
        let failure = ApplyFailure(cause: error, rolledBack: Plan(), rollbackFailures: [])
        #expect(failure.description == "apply failed: unexpected error (DiskOnFire): the disk is on fire\nnothing had been changed")
        #expect(!failure.description.contains("namespace"))
    }

    @Test func errorsOfTheBackendsKeepTheirCase() {
        let enter = NamespaceError.enter(path: "/run/netns/x", errno: 2)
        guard case .namespace(let namespace) = DataplaneError(enter) else {
            Issue.record("a NamespaceError is a namespace failure")
            return
        }
        #expect(namespace == enter)
        guard case .iptables(.lockTimeout) = DataplaneError(IptablesError.lockTimeout(path: "/run/xtables.lock", waited: .seconds(5))) else {
            Issue.record("an IptablesError keeps its case")
            return
        }
        guard case .lockFile(let path, _) = DataplaneError(DataplaneError.lockFile(path: "/run/podnet/x", errno: 13)) else {
            Issue.record("a DataplaneError stays itself")
            return
        }
        #expect(path == "/run/podnet/x")
    }
}
