import PodNet

/// The routes of peers being compiled, and the owners of the nexthops they are to go
/// through, before the owners have ids: the one place a peer becomes routes, for every
/// peer of a config (`Compiler.routes`) as for one peer alone (`Compiler.peerRoutes`).
struct PeerRouting {
    let families: [IPFamily]
    let table: UInt32
    let proto: UInt8
    /// IPv4's routes, then IPv6's, each in peer order.
    private(set) var routes: [[RouteState]] = [[], []]
    /// Each nexthop owner, the route (family slot, index) that is to go through it, and its gateway.
    private(set) var owners: [(family: Int, route: Int, owner: NexthopOwner, gateway: IPAddress)] = []

    init(config: NodeConfig) {
        families = config.families
        table = config.routeTable
        proto = config.routeProtocol
    }

    mutating func reserve(peers: Int) {
        routes[0].reserveCapacity(peers)
        routes[1].reserveCapacity(peers)
        owners.reserveCapacity(peers * families.count)
    }

    /// The peer's pod CIDRs of the node's families, each via the peer's node IP of its
    /// family, through a nexthop where `RouteForm` prefers it (its id comes later).
    mutating func add(_ peer: Peer) throws(CompileError) {
        for cidr in peer.podCIDRs where families.contains(cidr.family) {
            guard let gateway = peer.nodeIP(for: cidr.family) else {
                throw .peerWithoutNodeIP(peer: peer.name, podCIDR: cidr)
            }
            let family = cidr.family == .ipv4 ? 0 : 1
            if RouteForm.preferred(for: cidr.family) == .nexthop {
                owners.append((family, routes[family].count, NexthopOwner(peer: peer.name, family: cidr.family), gateway))
            }
            routes[family].append(RouteState(destination: cidr, gateway: gateway, table: table, proto: proto))
        }
    }

    /// The routes through the nexthops of `ids` (one per owner, in the owners' order).
    /// A peer has at most one pod CIDR per family (NodeConfigValidator): one owner per route.
    mutating func finish(ids: [UInt32]) -> (routes: [RouteState], nexthops: [PeerNexthop]) {
        var nexthops: [PeerNexthop] = []
        nexthops.reserveCapacity(owners.count)
        for ((family, route, owner, gateway), id) in zip(owners, ids) {
            routes[family][route].via = .nexthop(id: id)
            nexthops.append(PeerNexthop(id: id, owner: owner, gateway: gateway, proto: proto))
        }
        return (routes[0] + routes[1], nexthops)
    }
}
