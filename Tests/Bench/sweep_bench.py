"""The UDP host port sweep at scale: a row of `make bench` (bench.py's `planned` list takes
it from planned()).

Every apply that has UDP host ports reads conntrack for the flows that bypass their DNAT
(README, "How apply changes a node"). The node here has 1,000 UDP host ports and tracks
50,000 UDP flows that none of them catches (port 53 of the node's bridge address, as a
node serving DNS would): each no-op apply reads and keeps all of them. The peer reads the
same state with the standard tools: `conntrack -L -p udp` of both families, the nat and
filter tables (`iptables-legacy-save`) and both route tables (`ip route show`).

One namespace serves every run (a no-op changes nothing); after the runs the flows are
counted again, and the row is an error if the sweep deleted any of them.
"""

import os

FLOWS = 50_000
HOST_PORTS = 1_000
BRIDGE_ADDRESS = "10.0.0.1"  # generate.NODE_POD_CIDRS[0]'s first address, the bridge's


def flows_file(path):
    """`conntrack --load-file` input: FLOWS UDP flows to BRIDGE_ADDRESS:53, an hour long."""
    lines = []
    for index in range(FLOWS):
        source = f"198.19.{index // 250}.{index % 250 + 1}"
        lines.append(f"-I -s {source} -d {BRIDGE_ADDRESS} -p udp --sport {10000 + index % 50000} --dport 53 "
                     f"-t 3600 -u SEEN_REPLY")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def tracked_udp_flows(kit, namespace):
    text = kit.run(kit.inside(namespace, ["conntrack", "-L", "-p", "udp", "-f", "ipv4"]), capture=True)
    return sum(1 for line in text.splitlines() if line.startswith("udp"))


class SweepScenario:
    def __init__(self, kit, bench):
        self.kit, self.bench = kit, bench
        self.namespace = None

    def prepared(self):
        if self.namespace is None:
            kit, bench = self.kit, self.bench
            config, flows = bench.path("udp-host-ports-1000.json"), bench.path("udp-flows.conntrack")
            flows_file(flows)
            self.namespace = bench.fresh(config)()
            kit.run(kit.inside(self.namespace, ["conntrack", "--load-file", flows]))
            count = tracked_udp_flows(kit, self.namespace)
            if count != FLOWS:
                raise kit.BenchError(f"conntrack tracks {count:,} UDP flows, not {FLOWS:,}: the row would measure less")
        return self.namespace

    def check_kept(self):
        if self.namespace is not None:
            count = tracked_udp_flows(self.kit, self.namespace)
            if count != FLOWS:
                raise self.kit.BenchError(f"the no-op applies left {count:,} of the {FLOWS:,} UDP flows: "
                                          "the sweep deleted flows no host port catches")

    def scenario(self):
        kit, bench = self.kit, self.bench
        config = bench.path("udp-host-ports-1000.json")
        read = ("conntrack -L -p udp -f ipv4 >/dev/null 2>&1; conntrack -L -p udp -f ipv6 >/dev/null 2>&1; "
                "iptables-legacy-save -t nat; iptables-legacy-save -t filter; ip route show; ip -6 route show")
        return kit.Scenario(
            f"no-op apply, {HOST_PORTS:,} UDP host ports beside {FLOWS:,} UDP flows",
            kit.Side(lambda _: (bench.apply_argv(config, self.prepared()), None)),
            kit.Side(lambda _: (kit.inside(self.prepared(), ["sh", "-c", read]), None)),
            goal=1.0, peer_label="conntrack -L -p udp (both families) + iptables-legacy-save -t nat/filter + "
                                 "ip route show (both families)",
            needs_apply=True)


def write_inputs(kit, bench):
    import generate
    generate.write_json(bench.path("udp-host-ports-1000.json"), generate.host_ports_config(HOST_PORTS, protocol="udp"))


def planned(kit, bench):
    """bench.py's `planned` entries (name, scenario maker), and a check to run after them."""
    sweep = SweepScenario(kit, bench)
    write_inputs(kit, bench)
    return [("no-op apply, 1,000 UDP host ports", sweep.scenario)], sweep.check_kept


if __name__ == "__main__":
    raise SystemExit("run through bench.py: python3 Tests/Bench/bench.py --only 'UDP host ports' ...")
