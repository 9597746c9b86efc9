import PodNet

/// On a node with NetworkPolicy, a pod podnet attached may send only from its own
/// address: otherwise it could evade its egress policy, or borrow another pod's ingress
/// allowance, by writing another source into its packets (a raw socket is enough, and
/// CAP_NET_RAW is in the runtimes' default set).
///
/// One rule and two hash:net,iface sets per family, whatever the number of pods: the
/// packet is dropped when its bridge port is one of podnet's pods' (`ports`: the port
/// with every address of the family) and its source is not that port's pod's address
/// (`addresses`: the port with its pod's address). The matches look the port up with
/// IPSET_FLAG_PHYSDEV: FORWARD sees a bridged packet coming in on the bridge itself, and
/// only the bridge port tells one pod from another. A port that is not in the sets (a pod
/// podnet did not attach) is not checked, and a routed packet (no bridge port) never
/// matches. Pods that come and go change the sets' members only: a CNI ADD adds its
/// pod's entries (`entries`) without compiling the policies or touching a table.
///
/// Two sets rather than one with `nomatch` holes: the kernel's hash:net,iface lookup stops
/// at the most specific prefix under which it finds the address at all, on any interface,
/// so a hole for another pod's address would hide the wider entry of this pod's port,
/// and borrowing exactly another pod's address (the case that matters) would pass.
///
/// iptables has no option for the physdev flag and iptables-save prints the matches as a
/// plain `--match-set NAME src,src`, so the rule's comment says what they look at; a rule
/// restored from such text lacks the flag, and the next `podnet apply` repairs it.
public enum PodSourceCheck {
    /// Which bridge ports are checked: `PODNET-SP4-...` / `PODNET-SP6-...`, the same
    /// name in every run and on every node.
    public static func portSetName(_ family: IPFamily) -> String {
        PolicyRules.setName("SP", key: "source ports", family: family)
    }

    /// Which address each checked port may send from: `PODNET-SA4-...` / `PODNET-SA6-...`.
    public static func addressSetName(_ family: IPFamily) -> String {
        PolicyRules.setName("SA", key: "source addresses", family: family)
    }

    /// A pod's entries, by set: its port with every address of the family, and with its
    /// own address; a pod without an address of the family sends nothing in it.
    public static func entries(port: String, addresses: [IPAddress], family: IPFamily) -> [(set: String, entry: IPSetEntry)] {
        let everyAddress = IPNetwork(network: IPAddress(family == .ipv4 ? "0.0.0.0" : "::")!, prefixLength: 0)
        var entries = [(portSetName(family), IPSetEntry(everyAddress, bridgePort: port))]
        if let own = addresses.first(where: { $0.family == family }) {
            entries.append((addressSetName(family), IPSetEntry(IPNetwork(host: own), bridgePort: port)))
        }
        return entries
    }

    /// Both sets of `family` with the entries of `pods`.
    static func sets(_ family: IPFamily, pods: [PodSpec]) -> [IPSetState] {
        let entries = pods.flatMap { pod in
            self.entries(port: InterfaceNaming.hostInterface(podName: pod.name), addresses: pod.ips, family: family)
        }
        return [portSetName(family), addressSetName(family)].map { name in
            IPSetState(name: name, type: .hashNetIface, family: family,
                       entries: Set(entries.filter { $0.set == name }.map(\.entry)))
        }
    }

    static func rule(_ family: IPFamily) -> Rule {
        Rule(matches: [.comment("podnet: pods podnet attached send only from their own addresses "
                                + "(sets of address,bridge port; matched on the port a packet came in on)"),
                       .set(SetMatch(portSetName(family), .source, .source, bridgePorts: true)),
                       .set(SetMatch(addressSetName(family), .source, .source, negated: true, bridgePorts: true))],
             target: .drop)
    }
}
