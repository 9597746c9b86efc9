import PodNet

/// Host ports in kubenet's shape: PODNET-HOSTPORTS, entered for local destinations
/// from PREROUTING (other hosts, pods) and OUTPUT (the node itself), picks the
/// mapping by port (and host IP); the mapping's own chain DNATs to the pod.
/// PODNET-HAIRPIN masquerades a pod's packets to its own host ports.
enum HostPortRules {
    static let chain = ChainName.hostPorts
    static let mappingChainPrefix = ChainName.podnetPrefix + "HP-"
    static let hairpinChain = ChainName(ChainName.podnetPrefix + "HAIRPIN")
    static let loopback = IPNetwork(network: IPAddress(ipv4: 0x7F00_0000), prefixLength: 8)
    static let ipv6Loopback = IPNetwork(host: IPAddress(ipv6: 0, 1))

    static func add(to nat: inout TableBuilder, filter: inout TableBuilder, config: NodeConfig, podCIDR: IPNetwork) {
        let family = podCIDR.family
        let mappings = config.hostPorts.filter { $0.family == family }.sorted(by: precedes)
        guard !mappings.isEmpty else { return }

        for hook in [BuiltinChain.prerouting, .output] {
            // IPv6 has no route_localnet: a packet from [::1] DNATed to a pod cannot leave
            // the loopback device, so [::1]:hostPort stays the node's own port (as with
            // kube-proxy, which has no IPv6 localhost node ports either).
            let excludingLoopback = family == .ipv6 && hook == .output
            nat.append(Rule(destination: excludingLoopback ? AddressMatch(ipv6Loopback, negated: true) : nil,
                            matches: [.comment("podnet: host ports"), .addressType(.destination(.local))],
                            target: .jump(chain)),
                       to: hook)
        }
        // Each mapping's name and comment once: with a thousand host ports they are
        // most of the compile. Side by side and by index: a tuple of the three would be
        // copied (three strings retained and released) at every step.
        let names = mappings.map(chainName(for:))
        let comments = mappings.map(\.comment)
        nat.add(Chain(name: chain, rules: mappings.indices.map { index in
            dispatchRule(mappings[index], to: names[index], comment: comments[index])
        }))
        for index in mappings.indices {
            nat.add(Chain(name: names[index],
                          rules: [dnatRule(mappings[index], comment: comments[index])]))
        }
        addHairpin(to: &nat, podIPs: Set(mappings.map(\.podIP)).sorted(), podCIDR: podCIDR)

        guard family == .ipv4 else { return }
        // 127.0.0.1:hostPort from the node itself: after DNAT the packet leaves through
        // the bridge with a loopback source (allowed by route_localnet on the bridge),
        // which the pod could not answer.
        nat.append(Rule(source: AddressMatch(loopback), outInterface: InterfaceMatch(config.bridge.name),
                        matches: [.comment("podnet: SNAT for localhost access to host ports")],
                        target: .masquerade(MasqueradeTarget())),
                   to: .postrouting)
        // route_localnet also lets other hosts send to 127.0.0.0/8 (CVE-2020-8558):
        // drop such packets unless they are replies or were DNATed, as kube-proxy does.
        filter.append(Rule(source: AddressMatch(loopback, negated: true), destination: AddressMatch(loopback),
                           matches: [.comment("podnet: block incoming localnet connections"),
                                     .conntrack(ConntrackMatch(states: [.related, .established, .dnat], negated: true))],
                           target: .drop),
                      to: .input)
    }

    /// `PODNET-HP-` and the first 16 characters of base32(sha256(key)), as kubelet names
    /// KUBE-HP chains: stable for the mapping, and 26 characters, within the kernel's 28.
    static func chainName(for mapping: HostPortMapping) -> ChainName {
        chainName(key: chainKey(for: mapping))
    }

    /// `family/transport/hostPort/hostIP/podIP/containerPort`, hostIP empty when the
    /// mapping is on every address. Its bytes are gathered in one buffer, the ports
    /// written as digits in place: a thousand host ports are named at every compile.
    static func chainKey(for mapping: HostPortMapping) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(128)  // the longest, IPv6 with a host IP, is 101 bytes
        key.appendUTF8(mapping.family.rawValue)
        key.append(UInt8(ascii: "/"))
        key.appendUTF8(mapping.transport.rawValue)
        key.append(UInt8(ascii: "/"))
        key.appendDecimal(mapping.hostPort)
        key.append(UInt8(ascii: "/"))
        if let hostIP = mapping.hostIP { key.appendUTF8(hostIP.description) }
        key.append(UInt8(ascii: "/"))
        key.appendUTF8(mapping.podIP.description)
        key.append(UInt8(ascii: "/"))
        key.appendDecimal(mapping.containerPort)
        return key
    }

    /// The chain name of a key. Base32's first 16 symbols are exactly the digest's
    /// first 10 bytes (two whole 5-byte groups, no padding), so they are written
    /// straight from the digest's words into the name.
    static func chainName(key: [UInt8]) -> ChainName {
        let digest = key.withUnsafeBytes { SHA256.hash($0) }
        let firstGroup = UInt64(digest.0) << 8 | UInt64(digest.1 >> 24)                   // bytes 0-4
        let secondGroup = UInt64(digest.1 & 0xFF_FFFF) << 16 | UInt64(digest.2 >> 16)     // bytes 5-9
        let prefix = mappingChainPrefix.utf8
        return ChainName(String(unsafeUninitializedCapacity: prefix.count + 16) { name in
            let hashStart = name.initialize(fromContentsOf: prefix)
            Base32.writeGroup(firstGroup, to: name.baseAddress! + hashStart)
            Base32.writeGroup(secondGroup, to: name.baseAddress! + hashStart + 8)
            return hashStart + 16
        })
    }

    /// Selects the mapping: `[-d hostIP] -p proto -m proto --dport hostPort`.
    private static func dispatchRule(_ mapping: HostPortMapping, to chainName: ChainName, comment: String) -> Rule {
        Rule(destination: mapping.hostIP.map { AddressMatch(IPNetwork(host: $0)) },
             proto: ProtocolMatch(IPProtocol(mapping.transport)),
             matches: [.comment(comment), portMatch(mapping.transport, .destination(mapping.hostPort))],
             target: .jump(chainName))
    }

    private static func dnatRule(_ mapping: HostPortMapping, comment: String) -> Rule {
        Rule(proto: ProtocolMatch(IPProtocol(mapping.transport)),
             matches: [.comment(comment), portMatch(mapping.transport, PortMatch())],
             target: .dnat(NATTarget(address: mapping.podIP, ports: PortRange(mapping.containerPort))))
    }

    /// A pod reaching its own host port is DNATed back to itself: in POSTROUTING its
    /// packet has source == destination == the pod's IP, which no other packet of the
    /// node has (a pod talks to itself over its own loopback). Masqueraded to the
    /// bridge's address, the pod's reply comes back through the node and is un-NATed.
    /// The match is the traffic itself, not a packet-mark bit: kube-proxy's
    /// KUBE-MARK-MASQ bit is its own, and a mark rule here would masquerade every
    /// packet kube-proxy marked before KUBE-POSTROUTING could (with --random-fully).
    /// Only DNATed connections from this node's pods enter the per-pod rules.
    private static func addHairpin(to nat: inout TableBuilder, podIPs: [IPAddress], podCIDR: IPNetwork) {
        nat.append(Rule(source: AddressMatch(podCIDR),
                        matches: [.comment("podnet: SNAT for hairpin host-port traffic"),
                                  .conntrack(ConntrackMatch(states: [.dnat]))],
                        target: .jump(hairpinChain)),
                   to: .postrouting)
        nat.add(Chain(name: hairpinChain, rules: podIPs.map { podIP in
            let pod = AddressMatch(IPNetwork(host: podIP))
            return Rule(source: pod, destination: pod,
                        matches: [.comment("podnet: SNAT for hairpin host-port traffic")],
                        target: .masquerade(MasqueradeTarget()))
        }))
    }

    /// `-m tcp|udp|sctp`: port tests need the protocol's own match; the DNAT rule
    /// carries it without ports, as kubenet's did.
    private static func portMatch(_ transport: TransportProtocol, _ ports: PortMatch) -> Match {
        switch transport {
        case .tcp: return .tcp(TCPMatch(ports: ports))
        case .udp: return .udp(ports)
        case .sctp: return .sctp(ports)
        }
    }

    /// Protocol and port order; a mapping bound to a host IP comes before the one on
    /// every address for the same port, so that the specific one wins.
    private static func precedes(_ a: HostPortMapping, _ b: HostPortMapping) -> Bool {
        if a.transport != b.transport { return a.transport < b.transport }
        if a.hostPort != b.hostPort { return a.hostPort < b.hostPort }
        switch (a.hostIP, b.hostIP) {
        case (.some(let x), .some(let y)) where x != y: return x < y
        case (.some, .none): return true
        case (.none, .some): return false
        default: break
        }
        if a.podIP != b.podIP { return a.podIP < b.podIP }
        return a.containerPort < b.containerPort
    }
}

extension Compiler {
    /// The nat chain of one host-port mapping (`PODNET-HP-...`), for checks that read
    /// back one mapping's rules.
    public static func hostPortChainName(for mapping: HostPortMapping) -> ChainName {
        HostPortRules.chainName(for: mapping)
    }
}
