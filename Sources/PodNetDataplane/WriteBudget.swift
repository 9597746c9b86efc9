import PodNet

/// Counts the kernel writes of one apply, and fails the Nth on purpose when the
/// test-only fault hook asks for it, so that tests can prove every step rolls back.
final class WriteBudget {
    private(set) var count = 0
    let failAt: Int?

    init(failAt: Int?) { self.failAt = failAt }

    /// Called before each kernel write (a table commit, a netlink request or batch, a sysctl).
    /// The description is built only for the write that fails: describing an enum by
    /// interpolation reflects on it, which cost more than creating the bridge.
    func spend(_ operation: @autoclosure () -> String) throws(DataplaneError) {
        count += 1
        if count == failAt { throw .injectedFault(write: count, operation: operation()) }
    }
}
