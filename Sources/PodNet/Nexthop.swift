/// A link as netlink names it (the index a message carries) and as a person does.
public struct LinkReference: Sendable, Hashable {
    public var index: Int32
    public var name: String

    public init(index: Int32, name: String) {
        self.index = index
        self.name = name
    }
}

/// What a nexthop of podnet's stands for: one peer's node IP of one family. Its id is
/// derived from this (`NexthopIDs`), so that the peer's nexthop keeps its id when the
/// node IP changes, and moving the peer is one nexthop replace, not a write per route.
public struct NexthopOwner: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var peer: String
    public var family: IPFamily

    public init(peer: String, family: IPFamily) {
        self.peer = peer
        self.family = family
    }

    public var description: String { peer + "/" + family.rawValue }

    public static func < (lhs: NexthopOwner, rhs: NexthopOwner) -> Bool {
        (lhs.peer, lhs.family) < (rhs.peer, rhs.family)
    }
}

/// A peer's nexthop as the config wants it. The link its gateway is on-link through is
/// a fact of the node, found at apply time (`RouteFitting`), which makes it a `NexthopState`.
public struct PeerNexthop: Sendable, Hashable, Comparable {
    public var id: UInt32
    public var owner: NexthopOwner
    public var gateway: IPAddress
    public var proto: UInt8

    public init(id: UInt32, owner: NexthopOwner, gateway: IPAddress, proto: UInt8) {
        self.id = id
        self.owner = owner
        self.gateway = gateway
        self.proto = proto
    }

    public static func < (lhs: PeerNexthop, rhs: PeerNexthop) -> Bool { lhs.id < rhs.id }
}

/// A nexthop object of podnet's (`ip nexthop add id N via G dev D proto P`): marked by
/// podnet's route protocol as its routes are.
public struct NexthopState: Sendable, Hashable, Comparable {
    public var id: UInt32
    public var gateway: IPAddress
    /// NHA_OIF, which the kernel requires beside a gateway.
    public var link: LinkReference
    public var proto: UInt8

    public init(id: UInt32, gateway: IPAddress, link: LinkReference, proto: UInt8) {
        self.id = id
        self.gateway = gateway
        self.link = link
        self.proto = proto
    }

    public var family: IPFamily { gateway.family }

    public static func < (lhs: NexthopState, rhs: NexthopState) -> Bool { lhs.id < rhs.id }
}

/// A prefix the node reaches directly on a link (a link-scope route without a gateway
/// in the main table, such as the connected prefix of an address): a gateway inside it
/// is on-link there, which is what the kernel checks when a nexthop is made.
public struct OnLinkPrefix: Sendable, Hashable {
    public var prefix: IPNetwork
    public var link: LinkReference

    public init(prefix: IPNetwork, link: LinkReference) {
        self.prefix = prefix
        self.link = link
    }
}

/// What to do with one nexthop of podnet's.
public enum NexthopOperation: PlannedKernelWrite {
    case add(NexthopState)
    /// NLM_F_REPLACE: every route using the nexthop moves with it, in one message.
    case replace(old: NexthopState, new: NexthopState)
    /// The kernel deletes every route still using it too: planned after the routes moved off.
    case delete(NexthopState)

    /// The nexthop this operation writes or deletes (for a replace, the new one).
    public var nexthop: NexthopState {
        switch self {
        case .add(let nexthop), .delete(let nexthop): return nexthop
        case .replace(_, let new): return new
        }
    }

    /// The `ip nexthop` command that carries the operation out.
    public var commandText: String {
        switch self {
        case .add(let nexthop): return IpCommandText.nexthop("add", nexthop)
        case .replace(_, let new): return IpCommandText.nexthop("replace", new)
        case .delete(let nexthop): return IpCommandText.deleteNexthop(nexthop)
        }
    }
}

/// podnet's nexthop ids: derived from each nexthop's owner (FNV-1a 32 of "peer/family"),
/// so the same peers give the same ids on every node and every run, and a peer keeps its
/// id however its node IP changes. Ids others hold (`taken`: every nexthop not of
/// podnet's protocol) are never used: an owner whose id is taken, or another owner's,
/// takes the next free one. Owners are placed in the order of their derived id, then
/// name, so the outcome does not depend on the order peers are listed in; a new peer
/// can move only a peer whose derived id equals its own (for 50,000 peers in 2^32 ids,
/// a handful of pairs at most).
public enum NexthopIDs {
    public static func derived(_ owner: NexthopOwner) -> UInt32 {
        var peer = owner.peer
        var hash: UInt32 = peer.withUTF8 { bytes in
            bytes.reduce(0x811C_9DC5) { hash, byte in (hash ^ UInt32(byte)) &* 0x0100_0193 }
        }
        hash = (hash ^ UInt32(UInt8(ascii: "/"))) &* 0x0100_0193
        for byte in owner.family.rawValue.utf8 {
            hash = (hash ^ UInt32(byte)) &* 0x0100_0193
        }
        return hash == 0 ? 1 : hash
    }

    /// The ids of `owners` (distinct), in their order.
    public static func assign(_ owners: [NexthopOwner], taken: Set<UInt32>) -> [UInt32] {
        let preferred = owners.map(derived)
        // By derived id, then (owners of one derived id, rare) by owner: sorted as plain
        // integers, the id above the owner's index, then each run of one id by owner.
        var order = preferred.indices.map { UInt64(preferred[$0]) << 32 | UInt64($0) }
        order.sort()
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, order[end] >> 32 == order[start] >> 32 { end += 1 }
            if end - start > 1 { order[start..<end].sort { owners[Int($0 & 0xFFFF_FFFF)] < owners[Int($1 & 0xFFFF_FFFF)] } }
            start = end
        }
        var used = taken
        used.reserveCapacity(taken.count + owners.count)
        var ids = [UInt32](repeating: 0, count: owners.count)
        for key in order {
            let index = Int(key & 0xFFFF_FFFF)
            var id = preferred[index]
            // Id 0 asks the kernel to choose one: never podnet's.
            while id == 0 || used.contains(id) { id &+= 1 }
            used.insert(id)
            ids[index] = id
        }
        return ids
    }
}
