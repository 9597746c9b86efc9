import PodNet
import PodNetIptables
import PodNetNetlink

extension TableSnapshot {
    /// How many rules each built-in and podnet chain holds: what an undo needs to
    /// turn appends back into deletes at the right index.
    var chainLengths: [ChainName: Int] {
        var lengths: [ChainName: Int] = [:]
        for chain in builtinChains { lengths[chain.chain.name] = chain.entries.count }
        for chain in podnetChains { lengths[chain.name] = chain.rules.count }
        return lengths
    }
}

extension ForeignRouteConflict {
    /// The model's view of the conflict, for the plan's conflict list.
    var conflict: RouteConflict {
        let gateway = existing.gateway ?? IPAddress(bytes: Array(repeating: 0, count: wanted.family.bitWidth / 8),
                                                     family: wanted.family)
        return RouteConflict(wanted: wanted, foreign: RouteState(destination: existing.destination, gateway: gateway,
                                                                 table: existing.table, proto: existing.proto))
    }
}
