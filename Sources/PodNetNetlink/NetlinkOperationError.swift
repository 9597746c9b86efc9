import PodNet
import PodNetSystem

/// Failures of the backend's operations on links, addresses and pods: which
/// operation (named by its `ip` command) and why.
public enum NetlinkOperationError: Error, Sendable, Equatable, CustomStringConvertible {
    case failed(command: String, namespace: NetworkNamespace?, NetlinkError)
    /// A link named like podnet's bridge that is not a bridge: never changed.
    case notABridge(name: String, kind: String?)
    /// A bridge without podnet's marker: someone else's, never changed.
    case bridgeNotOwned(name: String, alias: String?)
    /// A link podnet expected (the bridge, a pod's interface) is missing.
    case linkMissing(name: String, namespace: NetworkNamespace?)
    /// A link named like a pod's host interface that podnet did not create.
    case podInterfaceNotOwned(name: String, alias: String?)
    /// A link observed as half-made by podnet that no longer is (it has an alias now).
    case notUnfinished(name: String, alias: String?)
    case sysctl(SysctlError)

    public var description: String {
        switch self {
        case .failed(let command, let namespace, let error):
            return "`\(command)`\(namespace.map { " in netns \($0)" } ?? "") failed: \(error)"
        case .notABridge(let name, let kind):
            return "link \(name) exists but is \(kind.map { "a \($0)" } ?? "no bridge"), not a bridge: "
                + "podnet leaves it alone; remove or rename it, or configure another bridge name"
        case .bridgeNotOwned(let name, let alias):
            return "bridge \(name) was not created by podnet (alias \(alias.map { "\"\($0)\"" } ?? "unset"), "
                + "expected \"\(BridgeState.ownershipAlias)\"): podnet leaves it alone; delete it "
                + "(`ip link del \(name)`) or mark it (`ip link set \(name) alias \"\(BridgeState.ownershipAlias)\"`) to hand it over"
        case .linkMissing(let name, let namespace):
            return "link \(name) not found\(namespace.map { " in netns \($0)" } ?? "")"
        case .podInterfaceNotOwned(let name, let alias):
            return "link \(name) was not created by podnet for a pod (alias \(alias.map { "\"\($0)\"" } ?? "unset")): left alone"
        case .notUnfinished(let name, let alias):
            return "link \(name) is no longer a link podnet left half-made (alias \(alias.map { "\"\($0)\"" } ?? "unset")): left alone"
        case .sysctl(let error):
            return error.description
        }
    }
}
