/// The ids `NexthopIDs.assign` (with no id taken, as the compiler assigns them) gives
/// after a few owners went and came, found from the previous assignment alone, without
/// placing every owner again: what one peer's Node event needs (`podnet watch`).
///
/// Why the shortcut gives the ids of a full assignment. `assign` places the owners in a
/// fixed order (derived id, then owner), each at the first id from its derived one that no
/// owner placed before it holds (0 skipped). The ids an owner o walked past, its chain
/// [derived(o), id(o)), were each held by an owner placed before it, and still are.
/// - Adding n whose derived id d no owner holds: the owners before n get their ids as
///   before; n finds d free (nobody holds it at the end, so nobody before n did); each
///   owner after n walks its old chain, every id of which is still held, and stops at
///   its old id, free since it is not d. (No chain passes d either: a chain holds only
///   held ids.) Otherwise, d held, n is placed elsewhere and may push others: nil.
/// - Removing r, whose id i lies in no remaining owner's chain: the owners before r keep
///   their ids; each one after it walks its old chain, every id of which is held by an
///   owner other than r (i is in none), and stops at its old id, which is no freer than
///   before. Otherwise the owner bumped past i would now take it: nil.
/// Several changes are these steps one after another (removals, then additions), each on
/// the assignment the one before left, which is the full assignment of its owners.
public struct NexthopIDChange {
    /// The previous full assignment, sorted by id (as `DesiredState.nexthops` holds it).
    private let assigned: [PeerNexthop]
    /// Ids of `assigned` whose owners are gone.
    private var gone: Set<UInt32> = []
    /// Owners added, by the id they took.
    private var added: [UInt32: NexthopOwner] = [:]

    public init(_ assigned: [PeerNexthop]) {
        self.assigned = assigned
    }

    /// The owner holding `id` now.
    public func owner(of id: UInt32) -> NexthopOwner? {
        if let owner = added[id] { return owner }
        guard !gone.contains(id), let index = Self.index(of: id, in: assigned) else { return nil }
        return assigned[index].owner
    }

    /// The id `owner` holds now: it sits at the end of its chain, a run of held ids from its
    /// derived one, so it is found by walking that run.
    public func id(of owner: NexthopOwner) -> UInt32? {
        var id = NexthopIDs.derived(owner)
        for _ in 0...(assigned.count + added.count) {
            guard let holder = self.owner(of: id) else { return nil }
            if holder == owner { return id }
            id = Self.next(id)
        }
        return nil
    }

    /// Takes `owner` out; false (and nothing changed) when it holds no id, or when a
    /// remaining owner's chain passes its id: that owner would move down, and maybe others
    /// behind it, so only a full assignment knows their ids.
    public mutating func remove(_ owner: NexthopOwner) -> Bool {
        guard let id = id(of: owner) else { return false }
        // An owner whose chain passes `id` holds an id in the run of held ids just above it.
        var next = Self.next(id)
        while let holder = self.owner(of: next) {
            let start = NexthopIDs.derived(holder)
            // `id` is in [start, next) on the ring of ids.
            if id &- start < next &- start { return false }
            next = Self.next(next)
            if next == id { break }
        }
        if added.removeValue(forKey: id) == nil { gone.insert(id) }
        return true
    }

    /// Places `owner` (holding no id yet) at its derived id and returns it; nil (and nothing
    /// changed) when another owner holds that id.
    public mutating func add(_ owner: NexthopOwner) -> UInt32? {
        let id = NexthopIDs.derived(owner)
        guard self.owner(of: id) == nil else { return nil }
        added[id] = owner
        return id
    }

    /// The id after `id` in a probe: id 0 is never one of podnet's.
    private static func next(_ id: UInt32) -> UInt32 {
        id == UInt32.max ? 1 : id + 1
    }

    /// Binary search of `nexthops` (sorted by id).
    public static func index(of id: UInt32, in nexthops: [PeerNexthop]) -> Int? {
        let index = lowerBound(of: id, in: nexthops)
        return index < nexthops.count && nexthops[index].id == id ? index : nil
    }

    /// Where a nexthop of `id` goes in `nexthops` (sorted by id).
    public static func lowerBound(of id: UInt32, in nexthops: [PeerNexthop]) -> Int {
        var low = 0, high = nexthops.count
        while low < high {
            let middle = (low + high) / 2
            if nexthops[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
