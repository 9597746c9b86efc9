#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import PodNet
import PodNetSystem

/// Why a rule operation was refused before it reached libiptc: podnet changes only
/// what it made, and only when the kernel still holds what the operation expects.
public enum OwnershipRefusal: Sendable, Hashable, CustomStringConvertible {
    /// A chain that is neither built-in nor PODNET-: never touched.
    case foreignChain(ChainName)
    /// Creating, flushing or deleting a built-in chain.
    case builtinChain(ChainName)
    /// A rule for a built-in chain that is not a podnet jump (comment "podnet:", target a PODNET- chain).
    case notAPodnetJump(ChainName, Rule)
    /// The rule at the index is not the one the operation names (or is not podnet's).
    case ruleMismatch(ChainName, index: Int, found: String?)

    public var description: String {
        switch self {
        case .foreignChain(let chain): return "chain \(chain) is not podnet's"
        case .builtinChain(let chain): return "built-in chain \(chain) cannot be created, flushed or deleted"
        case .notAPodnetJump(let chain, let rule):
            return "rule for built-in chain \(chain) is not a podnet jump: \(IptablesSaveText.render(rule))"
        case .ruleMismatch(let chain, let index, let found):
            return "rule \(index) of \(chain) is not the expected podnet rule (found: \(found ?? "no rule"))"
        }
    }
}

/// Every failure of the iptables backend, each naming what it was doing.
public enum IptablesError: Error, Sendable, CustomStringConvertible {
    case namespace(NamespaceError)
    case lockFile(path: String, errno: Int32)
    case lockTimeout(path: String, waited: Duration)
    /// A libiptc call outside the operations failed: reading the table (init, a
    /// policy) or handing the policy counters back before the commit.
    case libiptc(table: TableID, call: String, errno: Int32, message: String)
    /// An entry of a podnet chain (or a foreign one decoded on request) does not decode.
    case malformedEntry(table: TableID, chain: ChainName, index: Int, reason: EntryDecodingError)
    case encoding(table: TableID, operation: TableOperation, reason: RuleEncodingError)
    case refused(table: TableID, operation: TableOperation, reason: OwnershipRefusal)
    /// libiptc refused an operation in memory (no such chain, bad index, chain in use, ...).
    case operationFailed(table: TableID, operation: TableOperation, call: String, errno: Int32, message: String)
    /// The kernel refused the new table; nothing changed. Its reason is in the kernel log.
    case commitRejected(table: TableID, errno: Int32, message: String, operations: [TableOperation])
    /// The table kept changing under podnet (EAGAIN at every commit).
    case concurrentChanges(table: TableID, attempts: Int)
    /// The kernel has no such address family (IPv6 disabled at boot, `ipv6.disable=1`):
    /// libiptc cannot open its socket (EAFNOSUPPORT).
    case familyUnavailable(table: TableID, message: String)

    public var description: String {
        switch self {
        case .namespace(let error):
            return error.description
        case .lockFile(let path, let code):
            return "cannot lock \(path): \(String(cString: strerror(code)))"
        case .lockTimeout(let path, let waited):
            return "another process holds the xtables lock \(path); gave up after \(waited)"
        case .libiptc(let table, let call, let code, let message):
            return "\(table): \(call) failed with errno \(code) (\(message))"
        case .malformedEntry(let table, let chain, let index, let reason):
            return "\(table) chain \(chain) rule \(index): \(reason)"
        case .encoding(let table, let operation, let reason):
            return "\(table): cannot encode \(operation.summary): \(reason)"
        case .refused(let table, let operation, let reason):
            return "\(table): refused \(operation.summary): \(reason)"
        case .operationFailed(let table, let operation, let call, let code, let message):
            return "\(table): \(operation.summary): \(call) failed with errno \(code) (\(message))"
        case .commitRejected(let table, let code, let message, let operations):
            let list = operations.map { "  " + $0.summary }.joined(separator: "\n")
            return "\(table): the kernel rejected the commit with errno \(code) (\(message)); "
                + "nothing was changed (see the kernel log for its reason). Operations:\n\(list)"
        case .concurrentChanges(let table, let attempts):
            return "\(table) changed under podnet at each of \(attempts) commits (EAGAIN)"
        case .familyUnavailable(let table, let message):
            return "\(table): this kernel has no \(table.family == .ipv4 ? "IPv4" : "IPv6") (libiptc: \(message)), "
                + "as when it was booted with ipv6.disable=1; a config that uses the family cannot be applied here"
        }
    }
}

extension TableOperation {
    /// One line naming the operation, in iptables' own terms.
    public var summary: String {
        switch self {
        case .createChain(let chain): return "-N \(chain)"
        case .flushChain(let chain, _): return "-F \(chain)"
        case .deleteChain(let chain): return "-X \(chain)"
        case .insertRule(let chain, let index, let rule): return "-I \(chain) \(index + 1) \(IptablesSaveText.render(rule))"
        case .appendRule(let chain, let rule): return IptablesSaveText.appendLine(rule, chain: chain)
        case .replaceRule(let chain, let index, _, let new): return "-R \(chain) \(index + 1) \(IptablesSaveText.render(new))"
        case .deleteRule(let chain, let index, _): return "-D \(chain) \(index + 1)"
        }
    }
}
