import PodNet
import PodNetCompiler
import PodNetConfig
import PodNetDataplane

extension WatchSession {
    /// Peers whose node IP changed or that left: each one's routes and nexthops alone
    /// (`Compiler.peerChange`, `NodeDataplane.applyPeerChange`): a new InternalIP is one
    /// nexthop replace. Nil when a change needs the whole config checked (a new peer or
    /// new pod CIDRs may overlap another's; a peer the config file names must agree with
    /// its Node; this node's own Node) or cannot be done alone: a whole apply.
    mutating func applyNodeChanges(_ changes: [ObjectKey: [UInt8]?]) throws -> String? {
        guard var config, var desired, let configFilePeers else { return nil }
        let ownName = config.node.name
        if peerContext == nil { peerContext = try node.dataplane().peerRouteContext(ownership: Ownership(config)) }
        guard let context = peerContext else { return nil }
        var peerIndex = Dictionary(config.peers.indices.map { (config.peers[$0].name, $0) }, uniquingKeysWith: { first, _ in first })
        let dataplane = node.dataplane()
        var results: [ApplyResult] = []
        var nexthopReplaces = 0
        for key in changes.keys.sorted() {
            guard key.name != ownName, !configFilePeers.contains(key.name) else { return nil }
            let old = peerIndex[key.name].map { config.peers[$0] }
            let new = try objects[key].map { try readPeer(ClusterObject(key: key, json: $0)) } ?? nil
            guard old != new else { continue }
            guard let old, new == nil || Set(new!.podCIDRs) == Set(old.podCIDRs) else { return nil }
            guard let change = try? Compiler.peerChange(from: old, to: new, desired: desired, config: config) ?? nil,
                  change.fits(desired) else { return nil }
            let before = desired
            guard let result = try store.locked({ () throws -> ApplyResult? in
                try store.forgetNodeStamp()
                let result = try dataplane.applyPeerChange(change, to: &desired, context: context, ownership: Ownership(config))
                store.recordNodeStamp(result == nil ? before : desired, dataplane: dataplane)
                return result
            }) else { return nil }
            results.append(result)
            nexthopReplaces += result.executed.nexthops.count
            if let new {
                config.peers[peerIndex[key.name]!] = new
            } else {
                config.peers.remove(at: peerIndex[key.name]!)
                peerIndex = Dictionary(config.peers.indices.map { (config.peers[$0].name, $0) }, uniquingKeysWith: { first, _ in first })
            }
            // Each peer's change is done once it is in: the next one builds on it.
            self.config = config
            self.desired = desired
        }
        for result in results { try report(result, node, bridge: desired.bridge) }
        return results.isEmpty ? "no route changes" : "routes of these peers only (\(nexthopReplaces) nexthop writes)"
    }

    /// One Node object read and checked as an item of a NodeList is.
    func readPeer(_ object: ClusterObject) throws(ConfigError) -> Peer? {
        let loaded = try loadAlone(object, name: "\(object.key)")
        for warning in loaded.warnings { Diagnostics.warn(warning.description) }
        return loaded.config.peers.first { $0.name == object.key.name }
    }
}
