import PodNet

/// Outbound SNAT for this node's pods, in ip-masq-agent's shape (kubenet allowed only
/// one non-masquerade CIDR): a RETURN per destination that keeps its pod source
/// address, then MASQUERADE for the rest.
enum MasqueradeRules {
    static let chain = ChainName("PODNET-MASQUERADE")

    static func add(to nat: inout TableBuilder, config: NodeConfig, podCIDR: IPNetwork) {
        guard config.masquerade else { return }
        let family = podCIDR.family
        nat.append(Rule(source: AddressMatch(podCIDR),
                        matches: [.comment("podnet: SNAT for outbound traffic from pods")],
                        target: .jump(chain)),
                   to: .postrouting)

        let keepSource = Set(config.cluster.nonMasqueradeCIDRs.filter { $0.family == family }).sorted()
        var rules = keepSource.map { cidr in
            Rule(destination: AddressMatch(cidr),
                 matches: [.comment("podnet: no SNAT to non-masquerade CIDRs")],
                 target: .returnFromChain)
        }
        rules.append(Rule(matches: [.comment("podnet: no SNAT to local addresses"),
                                    .addressType(.destination(.local))],
                          target: .returnFromChain))
        rules.append(Rule(matches: [.comment("podnet: SNAT for outbound traffic from pods")],
                          target: .masquerade(MasqueradeTarget())))
        nat.add(Chain(name: chain, rules: rules))
    }
}
