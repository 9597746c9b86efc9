import PodNet

/// Rules covering every match and target the model has, per family: used by the codec's
/// round-trip tests and (written through libiptc) by the kernel tests.
enum RuleCatalogue {
    static func network(_ text: String) -> IPNetwork { try! IPNetwork(parsing: text) }
    static func address(_ text: String) -> IPAddress { IPAddress(text)! }

    /// Rules valid in the filter table of `family`.
    static func filter(_ family: IPFamily) -> [Rule] {
        let v4 = family == .ipv4
        let net = network(v4 ? "10.244.0.0/16" : "fd00:10:244::/48")
        let host = network(v4 ? "10.244.1.10/32" : "fd00:10:244:1::a/128")
        return [
            Rule(source: AddressMatch(net), target: .accept),
            Rule(source: AddressMatch(net, negated: true), destination: AddressMatch(host), target: .drop),
            Rule(destination: AddressMatch(address: net.address, mask: address(v4 ? "255.0.255.0" : "ffff::ffff"),
                                           negated: true), target: .returnFromChain),
            Rule(inInterface: InterfaceMatch("veth+"), outInterface: InterfaceMatch("cbr0", negated: true),
                 target: .accept),
            Rule(inInterface: InterfaceMatch("eth0", negated: true), outInterface: InterfaceMatch("veth1234567890a"),
                 target: .queue),
            Rule(proto: ProtocolMatch(.udp, negated: true), target: .fallThrough),
            Rule(proto: ProtocolMatch(IPProtocol(number: 47)), matches: [.comment("gre")], target: .accept),
            Rule(proto: ProtocolMatch(.tcp), matches: [
                .comment("podnet: host port web/80 -> \"x\" 'y' \\z"),
                .tcp(TCPMatch(ports: PortMatch(sourcePorts: PortRange(first: 1024, last: 65535), sourceNegated: true,
                                               destinationPorts: PortRange(8080)))),
            ], target: .accept),
            Rule(proto: ProtocolMatch(.tcp), matches: [
                .tcp(TCPMatch(ports: PortMatch(), flags: TCPFlagsTest(mask: 0x12, comparison: 0x02),
                              option: 2, optionNegated: true)),
            ], target: .drop),
            Rule(proto: ProtocolMatch(.tcp), matches: [
                .tcp(TCPMatch(ports: PortMatch(), flags: TCPFlagsTest(mask: 0x3F, comparison: 0, negated: true))),
            ], target: .drop),
            Rule(proto: ProtocolMatch(.udp), matches: [
                .udp(PortMatch(destinationPorts: PortRange(first: 53, last: 54), destinationNegated: true)),
            ], target: .accept),
            Rule(proto: ProtocolMatch(.sctp), matches: [
                .sctp(PortMatch(sourcePorts: PortRange(9), destinationPorts: PortRange(first: 100, last: 200))),
            ], target: .accept),
            Rule(proto: ProtocolMatch(.tcp), matches: [
                .multiport(MultiportMatch(direction: .destination,
                                          ports: [PortRange(80), PortRange(first: 8000, last: 8080), PortRange(443)])),
            ], target: .accept),
            Rule(proto: ProtocolMatch(.udp), matches: [
                .multiport(MultiportMatch(direction: .either, ports: [PortRange(53)], negated: true)),
            ], target: .drop),
            Rule(proto: ProtocolMatch(.tcp), matches: [
                .multiport(MultiportMatch(direction: .source, ports: [PortRange(first: 1, last: 2)])),
            ], target: .accept),
            Rule(matches: [.conntrack(ConntrackMatch(states: [.related, .established]))], target: .accept),
            Rule(matches: [.conntrack(ConntrackMatch(states: [.invalid], negated: true))], target: .drop),
            Rule(matches: [.conntrack(ConntrackMatch(states: [.new, .untracked, .snat, .dnat]))], target: .accept),
            Rule(matches: [.addressType(.destination(.local, negated: true))], target: .returnFromChain),
            // IPv6 addrtype refuses BROADCAST (xt_addrtype: "ipv6 does not support BROADCAST matching").
            Rule(matches: [.addressType(AddressTypeMatch(sourceTypes: [.unicast, .local],
                                                         destinationTypes: v4 ? [.broadcast] : [.multicast],
                                                         destinationNegated: true, limitToInInterface: true))],
                 target: .drop),
            Rule(matches: [.mark(MarkMatch(value: 0x4000, mask: 0x4000))], target: .accept),
            Rule(matches: [.mark(MarkMatch(value: 0x1, negated: true))], target: .drop),
            Rule(matches: [.physdev(PhysdevMatch(inInterface: InterfaceMatch("veth+"),
                                                 outInterface: InterfaceMatch("eth0", negated: true),
                                                 isBridgedNegated: false))], target: .accept),
            Rule(matches: [.physdev(PhysdevMatch(isInNegated: true, isOutNegated: false))], target: .drop),
            Rule(matches: [.mark(MarkMatch(value: 0x4000, mask: 0x4000, negated: true))], target: .mark(.or(0x4000))),
            Rule(target: .mark(MarkTarget(value: 0x5, mask: 0xFFFF_FFFF))),
            Rule(proto: ProtocolMatch(.tcp), target: .reject(v4 ? .ipv4(7) : .ipv6(6))),
            Rule(target: .reject(.portUnreachable(family))),
            Rule(target: .reject(v4 ? .ipv4(1) : .ipv6(1))),
        ]
    }

    /// Rules valid in a nat chain reached from PREROUTING (DNAT) or POSTROUTING (the rest).
    static func natPrerouting(_ family: IPFamily) -> [Rule] {
        let v4 = family == .ipv4
        let pod = address(v4 ? "10.244.1.10" : "fd00:10:244:1::a")
        let last = address(v4 ? "10.244.1.20" : "fd00:10:244:1::14")
        return [
            Rule(proto: ProtocolMatch(.tcp), matches: [.tcp(TCPMatch(ports: .destination(8080)))],
                 target: .dnat(NATTarget(address: pod, ports: PortRange(80)))),
            Rule(proto: ProtocolMatch(.udp), matches: [.udp(.destination(53))],
                 target: .dnat(NATTarget(address: pod))),
            Rule(proto: ProtocolMatch(.tcp), target: .dnat(NATTarget(minAddress: pod, maxAddress: last,
                                                                     ports: PortRange(first: 80, last: 90),
                                                                     random: true, persistent: true))),
            Rule(proto: ProtocolMatch(.tcp), target: .dnat(NATTarget(address: nil, ports: PortRange(81)))),
            Rule(target: .dnat(NATTarget(minAddress: pod, maxAddress: last))),
        ]
    }

    static func natPostrouting(_ family: IPFamily) -> [Rule] {
        let v4 = family == .ipv4
        let node = address(v4 ? "192.168.1.2" : "fd00:1::2")
        let cluster = network(v4 ? "10.244.0.0/16" : "fd00:10:244::/48")
        return [
            Rule(source: AddressMatch(cluster), destination: AddressMatch(cluster, negated: true),
                 outInterface: InterfaceMatch("cbr0", negated: true),
                 matches: [.comment("podnet: masquerade"), .addressType(.destination(.local, negated: true))],
                 target: .masquerade(MasqueradeTarget())),
            Rule(proto: ProtocolMatch(.tcp), target: .masquerade(MasqueradeTarget(
                ports: PortRange(first: 1024, last: 2048), random: true))),
            Rule(proto: ProtocolMatch(.udp), target: .masquerade(MasqueradeTarget(ports: PortRange(5000),
                                                                                  randomFully: true))),
            Rule(target: .snat(NATTarget(address: node))),
            Rule(proto: ProtocolMatch(.tcp), target: .snat(NATTarget(minAddress: node, maxAddress: node,
                                                                    ports: PortRange(first: 1000, last: 2000),
                                                                    random: true, randomFully: true))),
            Rule(matches: [.mark(MarkMatch(value: 0x4000, mask: 0x4000))], target: .returnFromChain),
        ]
    }

    static func all(_ family: IPFamily) -> [Rule] {
        filter(family) + natPrerouting(family) + natPostrouting(family)
    }
}
