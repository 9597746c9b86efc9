/// The kinds of ipset podnet makes: pods' addresses (a selector's members), address
/// blocks (an ipBlock, its `except` entries marked `nomatch`), and networks paired with
/// the bridge port they may arrive on (which source addresses each pod's port may send).
public enum IPSetType: String, Sendable, Hashable, CaseIterable {
    case hashIP = "hash:ip"
    case hashNet = "hash:net"
    case hashNetIface = "hash:net,iface"
}

/// One member of a set: an address (a host network) or, in a hash:net set, a
/// network, optionally `nomatch` (a hole in a wider entry: ipBlock's `except`); in a
/// hash:net,iface set, a network and the bridge port (`physdev:` in ipset's words) it
/// is paired with.
public struct IPSetEntry: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var network: IPNetwork
    public var nomatch: Bool
    /// The bridge port of a hash:net,iface entry (IPSET_FLAG_PHYSDEV: the port a
    /// bridged packet came in on, not the bridge itself); nil in the other types.
    public var bridgePort: String?

    public init(_ network: IPNetwork, nomatch: Bool = false, bridgePort: String? = nil) {
        self.network = network
        self.nomatch = nomatch
        self.bridgePort = bridgePort
    }

    public init(host address: IPAddress) {
        self.init(IPNetwork(host: address))
    }

    public var isHost: Bool { network.prefixLength == network.family.hostPrefixLength }

    /// As `ipset` prints and takes it: an address alone for a host, else the CIDR;
    /// `,physdev:PORT` after it for a bridge port; ` nomatch` after a hole.
    public var description: String {
        (isHost ? network.address.description : network.description) + (bridgePort.map { ",physdev:" + $0 } ?? "")
            + (nomatch ? " nomatch" : "")
    }

    public static func < (lhs: IPSetEntry, rhs: IPSetEntry) -> Bool {
        (lhs.bridgePort ?? "", lhs.network, lhs.nomatch ? 1 : 0) < (rhs.bridgePort ?? "", rhs.network, rhs.nomatch ? 1 : 0)
    }
}

/// A set podnet wants (or found of its own): name, type, family and members.
public struct IPSetState: Sendable, Hashable {
    public var name: String
    public var type: IPSetType
    public var family: IPFamily
    public var entries: Set<IPSetEntry>

    public init(name: String, type: IPSetType, family: IPFamily, entries: Set<IPSetEntry> = []) {
        self.name = name
        self.type = type
        self.family = family
        self.entries = entries
    }

    /// The kernel's limit on a set name, without its NUL (IPSET_MAXNAMELEN 32).
    public static let maximumNameLength = 31
    /// podnet's sets are found by this prefix, like its chains; others are never touched.
    public static let ownedPrefix = "PODNET-"
    /// Where a set being rewritten whole is filled before it is swapped in.
    static let temporaryPrefix = "PODNET-TMP-"

    public static func isOwned(_ name: String) -> Bool { name.hasPrefix(ownedPrefix) }

    /// The name under which a rebuilt `name` is filled: owned (a crash leaves nothing
    /// foreign behind, the next apply destroys it) and derived from `name`, so that a
    /// plan is the same from one run to the next.
    public static func temporaryName(for name: String) -> String {
        var hash: UInt32 = 0x811C_9DC5
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        let hex = String(hash, radix: 16)
        return temporaryPrefix + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// `ipset create NAME TYPE family inet|inet6`.
    public var createCommand: String {
        "ipset create \(name) \(type.rawValue) family \(family == .ipv4 ? "inet" : "inet6")"
    }
}

/// One change to the node's ipsets, in the order a plan runs them.
public enum IPSetOperation: Sendable, Hashable {
    /// An empty set; its members are `add`s of their own.
    case create(IPSetState)
    case add(set: String, IPSetEntry)
    case delete(set: String, IPSetEntry)
    /// Atomically exchanges two sets' contents and types under their names: rules
    /// that match `second` see the contents `first` had, with no moment in between.
    case swap(String, String)
    /// The set as it was (members included), so that an undo can make it again.
    case destroy(IPSetState)

    /// As `ipset` would be told.
    public var commandText: String {
        switch self {
        case .create(let set): return set.createCommand
        case .add(let set, let entry): return "ipset add \(set) \(entry)"
        case .delete(let set, let entry): return "ipset del \(set) \(entry)"
        case .swap(let first, let second): return "ipset swap \(first) \(second)"
        case .destroy(let set): return "ipset destroy \(set.name)"
        }
    }

    /// Destroys run after the tables are committed: a set is in use while a rule matches it.
    public var isDestroy: Bool {
        if case .destroy = self { return true }
        return false
    }
}

/// Desired sets x podnet's observed sets -> the operations between them.
///
/// A set whose members change is changed in place, member by member; when most of
/// it changes (writing it whole takes fewer messages than the deltas), it is filled
/// under a temporary name and swapped in, so the rules that match it go from the old
/// members to the new at once. The kernel swaps only sets of the same type and family
/// (hash:net has features hash:ip lacks), and podnet's set names carry both, so a set
/// found under podnet's name with another type or family was remade by someone else:
/// it is destroyed and made again (refused, and the apply undone, while a rule matches
/// it). Owned sets nobody wants are destroyed.
public enum IPSetDiff {
    public static func plan(desired: [IPSetState], observed: [IPSetState]) -> [IPSetOperation] {
        let found = Dictionary(observed.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var operations: [IPSetOperation] = []
        var made = Set<String>()
        for set in desired.sorted(by: { $0.name < $1.name }) {
            guard let current = found[set.name] else {
                operations += fill(set, as: set.name)
                made.insert(set.name)
                continue
            }
            if current.type != set.type || current.family != set.family {
                operations.append(.destroy(current))
                operations += fill(set, as: set.name)
                made.insert(set.name)
                continue
            }
            let adds = set.entries.subtracting(current.entries), deletes = current.entries.subtracting(set.entries)
            // Whole: create, |new| adds, swap, destroy; in place: the deltas.
            if set.entries.count + 3 < adds.count + deletes.count {
                let temporary = IPSetState.temporaryName(for: set.name)
                if let leftover = found[temporary] { operations.append(.destroy(leftover)) }
                operations += fill(set, as: temporary)
                operations.append(.swap(temporary, set.name))
                var old = current
                old.name = temporary
                operations.append(.destroy(old))
                made.insert(temporary)
            } else {
                operations += memberEdits(set: set.name, adds: adds, deletes: deletes)
            }
        }
        // Leftovers (a temporary set from an interrupted rebuild included) go.
        let wanted = Set(desired.map(\.name))
        for set in observed.sorted(by: { $0.name < $1.name }) where !wanted.contains(set.name) && !made.contains(set.name) {
            operations.append(.destroy(set))
        }
        return operations
    }

    private static func fill(_ set: IPSetState, as name: String) -> [IPSetOperation] {
        [.create(IPSetState(name: name, type: set.type, family: set.family))]
            + set.entries.sorted().map { .add(set: name, $0) }
    }

    /// The new members before the stale ones go, except a network whose `nomatch`
    /// flips: the kernel holds one entry per network, so the old one leaves first.
    static func memberEdits(set: String, adds: Set<IPSetEntry>, deletes: Set<IPSetEntry>) -> [IPSetOperation] {
        let flipping = Set(adds.map(\.network))
        let deletes = deletes.sorted()
        return deletes.filter { flipping.contains($0.network) }.map { .delete(set: set, $0) }
            + adds.sorted().map { .add(set: set, $0) }
            + deletes.filter { !flipping.contains($0.network) }.map { .delete(set: set, $0) }
    }
}

extension [IPSetOperation] {
    /// The operations that run before the tables are committed, in plan order, and the
    /// destroys that wait until after: those of sets that stay gone, which a rule being
    /// removed in the same apply may still match. A destroy of a name the plan makes
    /// again (a rebuild's temporary set, a set remade) keeps its place.
    public var phasedAroundTables: (beforeTables: [IPSetOperation], afterTables: [IPSetOperation]) {
        var made = Set<String>()
        for case .create(let set) in self { made.insert(set.name) }
        var before: [IPSetOperation] = [], after: [IPSetOperation] = []
        for operation in self {
            if case .destroy(let set) = operation, !made.contains(set.name) {
                after.append(operation)
            } else {
                before.append(operation)
            }
        }
        return (before, after)
    }
}

extension NodeState {
    /// The state with member changes made to its sets (adds and deletes only: a change
    /// that makes or destroys a set is a whole compile's).
    public func applying(memberChanges: [IPSetOperation]) -> NodeState {
        guard !memberChanges.isEmpty else { return self }
        var state = self
        let index = Dictionary(state.ipsets.indices.map { (state.ipsets[$0].name, $0) }, uniquingKeysWith: { first, _ in first })
        for operation in memberChanges {
            switch operation {
            case .add(let set, let entry): if let at = index[set] { state.ipsets[at].entries.insert(entry) }
            case .delete(let set, let entry): if let at = index[set] { state.ipsets[at].entries.remove(entry) }
            case .create, .swap, .destroy: preconditionFailure("not a member change: \(operation.commandText)")
            }
        }
        return state
    }
}
