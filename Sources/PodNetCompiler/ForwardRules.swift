import PodNet

/// Accepts forwarded traffic from and to the cluster's pods, as flannel's FLANNEL-FWD
/// does, so that pods keep working when the FORWARD policy is DROP (Docker sets it so).
enum ForwardRules {
    static func add(to filter: inout TableBuilder, config: NodeConfig, family: IPFamily) {
        guard config.forwardAccept else { return }
        for cidr in Set(config.cluster.podCIDRs.filter { $0.family == family }).sorted() {
            filter.append(Rule(source: AddressMatch(cidr),
                               matches: [.comment("podnet: forward traffic from pods")],
                               target: .accept),
                          to: .forward)
            filter.append(Rule(destination: AddressMatch(cidr),
                               matches: [.comment("podnet: forward traffic to pods")],
                               target: .accept),
                          to: .forward)
        }
    }
}
