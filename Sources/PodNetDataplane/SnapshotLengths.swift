import PodNet
import PodNetIptables

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
