#!/usr/bin/env python3
"""podnet as a CNI plugin side by side with the chain it replaces (issue 13).

The reference chain is Debian's containernetworking-plugins configured as kubenet did:
bridge (cbr0, isGateway, hairpin) with host-local, then portmap, called in turn as libcni
calls a chain (portmap gets bridge's result as prevResult), with iptables-legacy as the
`iptables` on their PATH. podnet is one call. Each side runs in its own node namespace,
alternately (A B A B ...), each ADD into a fresh pod namespace and each DEL of an attached
one; the time is the wall time of the plugin processes (the same Python process starts
them on both sides). Scenarios:

  add            ADD of a pod without host ports, empty tables          goal <= 0.25x
  del            DEL of that pod                                        goal <= 0.25x
  add-50k        ADD without host ports beside 50,000 kube-proxy nat rules  goal <= 0.05x
  add-50k-port   ADD with one host port beside them                     goal <= 0.2x
  parallel-100   100 ADDs at once, wall time until the last is done     goal <= 0.5x

A scenario FAILs when its median ratio exceeds the goal widened by the run's IQR/median;
exit status 1 when any fails. Namespaces are named pncb-<pid>-<n> and deleted at the end.

    python3 Tests/Bench/cni_bench.py --podnet .build-bench/release/podnet [--runs 7] [--out FILE]
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402

REFERENCE = "/usr/lib/cni"
NODE_CONFIG = """node:
  name: bench-node
  podCIDRs: [10.244.0.0/16]
cluster:
  podCIDRs: [10.0.0.0/8]
bridge:
  mtu: 1460
"""


def run(argv, stdin=None, env=None):
    result = subprocess.run(argv, input=stdin, capture_output=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stdout[-500:]} {result.stderr[-500:]}")
    return result.stdout


class Node:
    """A node namespace with its plugin side; pods are more namespaces."""

    counter = 0

    def __init__(self, work, kind, podnet):
        Node.counter += 1
        self.name = f"pncb-{os.getpid()}-{Node.counter}"
        self.kind = kind
        self.podnet = podnet
        self.work = os.path.join(work, self.name)
        os.makedirs(self.work)
        self.pods = []
        run(["ip", "netns", "add", self.name])
        run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        path_dir = os.path.join(self.work, "path")
        os.makedirs(path_dir)
        for tool in ("iptables", "ip6tables"):
            os.symlink(shutil.which(tool + "-legacy"), os.path.join(path_dir, tool))
        self.env = dict(os.environ, PATH=path_dir + ":" + os.environ["PATH"], CNI_PATH=REFERENCE,
                        PODNET_LOCK_DIR=os.path.join(self.work, "locks"),
                        XTABLES_LOCKFILE=os.path.join(self.work, "xtables.lock"))
        with open(os.path.join(self.work, "node.yaml"), "w") as f:
            f.write(NODE_CONFIG)
        self.serial = 0

    def delete(self):
        for pod in self.pods:
            subprocess.run(["ip", "netns", "del", pod], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)

    def load_kube_proxy_rules(self, rules_path):
        with open(rules_path, "rb") as f:
            run(["nsenter", f"--net=/run/netns/{self.name}", "iptables-legacy-restore", "--noflush"], stdin=f.read())

    def new_pod(self):
        self.serial += 1
        pod = f"{self.name}-p{self.serial}"
        run(["ip", "netns", "add", pod])
        self.pods.append(pod)
        return f"c{self.serial}", pod

    def plugin_configs(self, port_mappings):
        runtime = {"portMappings": port_mappings} if port_mappings else None
        if self.kind == "podnet":
            config = {"cniVersion": "1.0.0", "name": "podnet", "type": "podnet",
                      "nodeConfig": os.path.join(self.work, "node.yaml"), "dataDir": os.path.join(self.work, "data"),
                      "capabilities": {"portMappings": True}}
            if runtime:
                config["runtimeConfig"] = runtime
            return [("podnet", config)]
        bridge = {"cniVersion": "0.4.0", "name": "kubenet", "type": "bridge", "bridge": "cbr0", "mtu": 1460,
                  "isGateway": True, "ipMasq": False, "hairpinMode": True,
                  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}],
                           "dataDir": os.path.join(self.work, "ipam")}}
        portmap = {"cniVersion": "0.4.0", "name": "kubenet", "type": "portmap", "capabilities": {"portMappings": True}}
        if runtime:
            portmap["runtimeConfig"] = runtime
        return [("bridge", bridge), ("portmap", portmap)]

    def invoke(self, command, container, pod, port_mappings=None):
        """The chain as libcni runs it (DEL in reverse order); the plugins' wall time."""
        plugins = self.plugin_configs(port_mappings or [])
        if command == "DEL":
            plugins = list(reversed(plugins))
        env = dict(self.env, CNI_COMMAND=command, CNI_CONTAINERID=container, CNI_NETNS=f"/run/netns/{pod}",
                   CNI_IFNAME="eth0")
        elapsed, previous = 0.0, None
        for plugin, config in plugins:
            if previous is not None and command == "ADD":
                config = dict(config, prevResult=previous)
            binary = self.podnet if plugin == "podnet" else os.path.join(REFERENCE, plugin)
            start = time.perf_counter()
            output = run(["nsenter", f"--net=/run/netns/{self.name}", binary], stdin=json.dumps(config).encode(), env=env)
            elapsed += time.perf_counter() - start
            if command == "ADD":
                previous = json.loads(output)
        return elapsed


def iqr(values):
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


def scenario(name, goal, runs, podnet_node, reference_node, timed, log):
    """`timed(node)` -> seconds, alternating the sides; one warm-up each, discarded."""
    podnet_times, reference_times = [], []
    for index in range(runs + 1):
        p = timed(podnet_node)
        r = timed(reference_node)
        if index > 0:
            podnet_times.append(p)
            reference_times.append(r)
            log(f"    {name} pair {index}: podnet {p * 1000:.1f} ms, reference {r * 1000:.1f} ms, ratio {p / r:.3f}")
    ratios = [p / r for p, r in zip(podnet_times, reference_times)]
    ratio = statistics.median(ratios)
    allowed = goal * (1 + iqr(ratios) / ratio)
    return {"name": name, "goal": goal, "podnet": statistics.median(podnet_times),
            "reference": statistics.median(reference_times), "ratio": ratio, "iqr": iqr(ratios),
            "passed": ratio <= allowed}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--podnet", default=".build-bench/release/podnet")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out")
    parser.add_argument("--parallel", type=int, default=100)
    args = parser.parse_args()
    podnet = os.path.abspath(args.podnet)
    log = lambda text: print(text, flush=True)  # noqa: E731
    work = tempfile.mkdtemp(prefix="podnet-cni-bench-")
    nodes = []

    def node_pair(rules=None):
        pair = (Node(work, "podnet", podnet), Node(work, "reference", podnet))
        nodes.extend(pair)
        for node in pair:
            if rules:
                node.load_kube_proxy_rules(rules)
            # The node's own state exists before the timed ADDs, as on a running node.
            container, pod = node.new_pod()
            node.invoke("ADD", container, pod)
        return pair

    def add(port_mappings=None):
        def timed(node):
            container, pod = node.new_pod()
            return node.invoke("ADD", container, pod, port_mappings)
        return timed

    results = []
    try:
        plain = node_pair()
        results.append(scenario("add", 0.25, args.runs, *plain, add(), log))

        def delete(node):
            container, pod = node.new_pod()
            node.invoke("ADD", container, pod)
            return node.invoke("DEL", container, pod)
        results.append(scenario("del", 0.25, args.runs, *plain, delete, log))

        rules = os.path.join(work, "kube-proxy.rules")
        count = generate.write_kube_proxy_rules(rules, 50000)
        log(f"    {count:,} kube-proxy nat rules in each node of the next two scenarios")
        crowded = node_pair(rules)
        results.append(scenario("add-50k", 0.05, args.runs, *crowded, add(), log))
        port = [0]

        def add_with_port(node):
            port[0] += 1
            container, pod = node.new_pod()
            return node.invoke("ADD", container, pod, [{"hostPort": 20000 + port[0], "containerPort": 80, "protocol": "tcp"}])
        results.append(scenario("add-50k-port", 0.2, args.runs, *crowded, add_with_port, log))

        def parallel(node):
            pods = [node.new_pod() for _ in range(args.parallel)]
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel) as pool:
                list(pool.map(lambda item: node.invoke("ADD", *item), pods))
            return time.perf_counter() - start
        fresh = node_pair()
        results.append(scenario(f"parallel-{args.parallel}", 0.5, max(3, args.runs // 2), *fresh, parallel, log))
    finally:
        for node in nodes:
            node.delete()
        shutil.rmtree(work, ignore_errors=True)

    lines = ["| scenario | podnet (median) | reference chain (median) | ratio (median, IQR) | goal | |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['podnet'] * 1000:.1f} ms | {r['reference'] * 1000:.1f} ms | "
                     f"{r['ratio']:.3f} ({r['iqr']:.3f}) | <= {r['goal']} | {'PASS' if r['passed'] else 'FAIL'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# podnet as a CNI plugin against the reference chain (Tests/Bench/cni_bench.py)\n\n" + text)
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
