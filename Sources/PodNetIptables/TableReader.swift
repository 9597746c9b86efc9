import PodNet

extension TableSnapshot {
    /// Reads every chain of the handle's table. Only podnet's chains, and the entries
    /// of built-in chains that jump to a PODNET- chain, are decoded (set matches with
    /// `sets`, the kernel's ipset indexes); an entry of a PODNET- chain that podnet
    /// cannot decode is kept whole (`Target.undecoded`). The rules of foreign user
    /// chains are copied only when `foreignChainEntries` is true: a diff never needs
    /// them, and kube-proxy keeps tens of thousands there.
    init(reading handle: LibiptcHandle, id: TableID, foreignChainEntries: Bool = true,
         sets: IPSetIndexes = IPSetIndexes()) throws(IptablesError) {
        self.foreignChainEntriesRead = foreignChainEntries
        self.id = id
        builtinChains = []
        podnetChains = []
        foreignChains = []
        for name in handle.chainNames() {
            let chain = ChainName(name)
            if let builtin = BuiltinChain(chainName: name), handle.isBuiltin(name) {
                builtinChains.append(try BuiltinChainSnapshot(reading: handle, chain: builtin, table: id))
            } else if chain.isPodnetOwned {
                var rules: [CountedRule] = []
                handle.forEachRule(in: name) { raw in
                    let decoded = raw.decodeOrKeep(family: id.family, sets: sets)
                    rules.append(CountedRule(rule: decoded.rule, counters: decoded.counters))
                    return true
                }
                podnetChains.append(PodnetChainSnapshot(name: chain, rules: rules))
            } else {
                foreignChains.append(ForeignChainSnapshot(name: chain,
                                                          entries: foreignChainEntries ? foreignEntries(handle, chain) : []))
            }
        }
    }

    private func foreignEntries(_ handle: LibiptcHandle, _ chain: ChainName) -> [ForeignEntry] {
        var entries: [ForeignEntry] = []
        handle.forEachRule(in: chain.rawValue) { raw in
            entries.append(ForeignEntry(table: id, chain: chain, index: entries.count, raw: raw))
            return true
        }
        return entries
    }
}

extension BuiltinChainSnapshot {
    init(reading handle: LibiptcHandle, chain: BuiltinChain, table: TableID) throws(IptablesError) {
        self.chain = chain
        let policy: (name: String, counters: PacketCounters)
        do {
            policy = try handle.policy(chain.rawValue)
        } catch {
            throw .libiptc(table: table, call: error.call, errno: error.errno, message: error.message)
        }
        guard let known = ChainPolicy(rawValue: policy.name) else {
            throw .libiptc(table: table, call: "get_policy", errno: 0, message: "unknown policy \(policy.name)")
        }
        self.policy = known
        policyCounters = policy.counters
        var entries: [BuiltinEntry] = []
        handle.forEachRule(in: chain.rawValue) { raw in
            let index = entries.count
            // Only a jump to a PODNET- chain can be podnet's; everything else stays bytes.
            if raw.standardTargetName?.hasPrefix(ChainName.podnetPrefix) == true,
               let decoded = try? raw.decode(table: table, chain: chain.name, index: index),
               decoded.rule.isPodnetJump {
                entries.append(.podnetJump(CountedRule(rule: decoded.rule, counters: decoded.counters)))
            } else {
                entries.append(.foreign(ForeignEntry(table: table, chain: chain.name, index: index, raw: raw)))
            }
            return true
        }
        self.entries = entries
    }
}

extension LibiptcHandle.RawRule {
    func decodeOrKeep(family: IPFamily, sets: IPSetIndexes) -> DecodedEntry {
        EntryCodec.decodeOrKeep(bytes, family: family, targetName: standardTargetName, sets: sets)
    }

    func decode(table: TableID, chain: ChainName, index: Int,
                sets: IPSetIndexes = IPSetIndexes()) throws(IptablesError) -> DecodedEntry {
        do {
            return try EntryCodec.decode(bytes, family: table.family, targetName: standardTargetName, sets: sets)
        } catch {
            throw .malformedEntry(table: table, chain: chain, index: index, reason: error)
        }
    }
}
