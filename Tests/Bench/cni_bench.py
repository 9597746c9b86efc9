#!/usr/bin/env python3
"""podnet as a CNI plugin side by side with the chain it replaces (issue 13).

The reference chain is Debian's containernetworking-plugins configured as kubenet did:
bridge (cbr0, isGateway, hairpin) with host-local, then portmap, called in turn as libcni
calls a chain (portmap gets bridge's result as prevResult), with iptables-legacy as the
`iptables` on their PATH. podnet is one call. Each side runs in its own node namespace,
alternately (A B A B ...), each ADD into a fresh pod namespace and each DEL of an attached
one; the time is the wall time of the plugin processes (the same Python process starts
them on both sides, from a thread inside the node's namespace, as a runtime starts them:
no `nsenter` process before each). The scenarios are rows of `make bench` (bench.py's `planned` list
takes them from CNIBench.scenarios()); run alone, as `make bench-cni` does, this prints
just their rows:

  ADD of a pod without host ports                                  goal <= 0.25x
  DEL of such a pod                                                goal <= 0.25x
  ADD without host ports beside 50,000 kube-proxy nat rules        goal <= 0.05x
  ADD with one host port beside them                               goal <= 0.2x
  100 ADDs at once, wall time until the last is done               goal <= 0.5x
  ADD on a node with NetworkPolicy (the netpol rows' 10,000-pod, 1,000-policy List applied
  with `podnet apply --cluster`) against podnet's ADD on the same node without it:
  the policy costs a pod's start nothing but its source-check entries    goal <= 1.1x
  ADD until the pod can talk on a node with NetworkPolicy (its wait for the List ended by
  `podnet watch`, which sees the plugin's record) against the reference chain's ADD, after
  which its pod talks (it has no policy)                               goal <= 1x

A scenario FAILs when its median ratio exceeds the goal widened by the run's IQR/median
(bench.py's rule); exit status 1 when any fails. Namespaces are named pncb-<pid>-<n> and
deleted at the end. The peak RSS shown is that of each side's warm-up request (GNU time
around each plugin process; the largest of the chain's).

    python3 Tests/Bench/cni_bench.py --podnet .build-bench/release/podnet [--runs 7]
"""

import argparse
import concurrent.futures
import ctypes
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402

REFERENCE = "/usr/lib/cni"
GNU_TIME = "/usr/bin/time"
NODE_CONFIG = """node:
  name: bench-node
  podCIDRs: [10.244.0.0/16]
cluster:
  podCIDRs: [10.0.0.0/8]
bridge:
  mtu: 1460
"""


CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class InNamespace:
    """The calling thread inside a network namespace while the block runs (setns(2) moves
    only the thread; a process it starts is born there). The runtime starts a plugin in the
    node's namespace itself: an `nsenter` before each plugin would time one more process
    start per plugin, two for the reference chain, about 1.6 ms each here."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        target = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {self.path}")
        finally:
            os.close(target)

    def __exit__(self, *exc):
        try:
            if _libc.setns(self.home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(self.home)


def run(argv, stdin=None, env=None):
    result = subprocess.run(argv, input=stdin, capture_output=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stdout[-500:]} {result.stderr[-500:]}")
    return result.stdout


class Node:
    """A node namespace with its plugin side; pods are more namespaces."""

    counter = 0

    def __init__(self, work, kind, podnet, track, config=NODE_CONFIG, cluster=None):
        Node.counter += 1
        self.name = f"pncb-{os.getpid()}-{Node.counter}"
        self.kind = kind
        self.podnet = podnet
        self.work = os.path.join(work, self.name)
        os.makedirs(self.work)
        self.track = track
        self.measure_peak = False
        self.peak_kib = 0
        run(["ip", "netns", "add", self.name])
        track(self.name)
        run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        path_dir = os.path.join(self.work, "path")
        os.makedirs(path_dir)
        for tool in ("iptables", "ip6tables"):
            os.symlink(shutil.which(tool + "-legacy"), os.path.join(path_dir, tool))
        self.env = dict(os.environ, PATH=path_dir + ":" + os.environ["PATH"], CNI_PATH=REFERENCE,
                        PODNET_LOCK_DIR=os.path.join(self.work, "locks"),
                        XTABLES_LOCKFILE=os.path.join(self.work, "xtables.lock"))
        with open(os.path.join(self.work, "node.yaml"), "w") as f:
            f.write(config)
        self.serial = 0
        if cluster:
            # The policy as `podnet apply --cluster` makes it, before the plugin's first request.
            run(["nsenter", f"--net=/run/netns/{self.name}", podnet, "apply", "-f", os.path.join(self.work, "node.yaml"),
                 "--cluster", cluster, "--data-dir", os.path.join(self.work, "data")], env=self.env)

    def load_kube_proxy_rules(self, rules_path):
        with open(rules_path, "rb") as f:
            run(["nsenter", f"--net=/run/netns/{self.name}", "iptables-legacy-restore", "--noflush"], stdin=f.read())

    def new_pod(self):
        self.serial += 1
        pod = f"{self.name}-p{self.serial}"
        run(["ip", "netns", "add", pod])
        self.track(pod)
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
        # CNI_ARGS as the kubelet's runtime passes them: on the policy node the pod waits
        # for the List (podnet's wait set), an entry more for ADD to write.
        env = dict(self.env, CNI_COMMAND=command, CNI_CONTAINERID=container, CNI_NETNS=f"/run/netns/{pod}",
                   CNI_IFNAME="eth0", CNI_ARGS=f"IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME={pod};"
                   f"K8S_POD_INFRA_CONTAINER_ID={container}")
        elapsed, previous = 0.0, None
        for plugin, config in plugins:
            if previous is not None and command == "ADD":
                config = dict(config, prevResult=previous)
            binary = [self.podnet if plugin == "podnet" else os.path.join(REFERENCE, plugin)]
            peak_file = os.path.join(self.work, f"peak-{container}-{plugin}")
            if self.measure_peak:
                # The plugin's peak RSS, with the processes it waits for (host-local under bridge).
                binary = [GNU_TIME, "-f", "%M", "-o", peak_file] + binary
            stdin = json.dumps(config).encode()
            with InNamespace(f"/run/netns/{self.name}"):
                start = time.perf_counter()
                output = run(binary, stdin=stdin, env=env)
                elapsed += time.perf_counter() - start
            if self.measure_peak:
                with open(peak_file) as f:
                    self.peak_kib = max(self.peak_kib, int(f.read().split()[-1]))
            if command == "ADD":
                previous = json.loads(output)
        return elapsed


class CNIScenario:
    """One row of bench.py's table, measured here rather than by bench.py's run_scenario:
    a request is a chain of plugin processes with their own environment and stdin (the
    reference chain's second gets the first's result), not one command per side. There is
    no single podnet command to profile when a goal is missed (`podnet` is None)."""

    podnet = None
    peer = None
    memory_rule = None
    needs_apply = False
    peer_label = "bridge + host-local + portmap as kubenet configured them, iptables-legacy"

    def __init__(self, name, goal, nodes, timed, runs=None):
        self.name = name
        self.goal = goal
        self.nodes = nodes      # () -> (podnet node, reference node), made on first use
        self.timed = timed      # node -> seconds
        self.runs = runs        # runs -> the runs this scenario takes

    def run(self, runs, log):
        """One warm-up of each side (its plugin processes' peak RSS taken with GNU time, then
        discarded), then the runs alternating podnet and the reference chain."""
        import bench
        podnet_node, reference_node = self.nodes()
        runs = self.runs(runs) if self.runs else runs
        sides = ((podnet_node, []), (reference_node, []))
        peaks = {}
        for index in range(runs + 1):
            for node, measurements in sides:
                node.measure_peak = index == 0
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                seconds = self.timed(node)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                if index == 0:
                    peaks[node.name] = node.peak_kib
                else:
                    measurements.append(bench.Measurement(seconds, peaks[node.name], cpu))
            if index > 0:
                p, r = sides[0][1][-1].seconds, sides[1][1][-1].seconds
                log(f"    pair {index}: podnet {p * 1000:.1f} ms, reference {r * 1000:.1f} ms, ratio {p / r:.3f}")
        return bench.Result(self, sides[0][1], sides[1][1])


class CNIBench:
    """The CNI scenarios of bench.py (and of `make bench-cni`): each side in its own node
    namespace, each ADD into a fresh pod namespace; `track` is told every namespace made,
    for the caller to delete."""

    def __init__(self, podnet, work, log, kube_proxy_rules, track, parallel=100, policy=None):
        self.podnet = podnet
        # (node config, cluster List) of the NetworkPolicy row; no such row without them.
        self.policy = policy
        self.work = work
        self.log = log
        self.kube_proxy_rules = kube_proxy_rules
        self.track = track
        self.parallel = parallel
        self.pairs = {}

    def waiting_pair(self):
        """podnet's node with NetworkPolicy and `podnet watch` running (its List has the pods
        the runs will add, as the kubelet's Pending pods without an address, and a policy
        selecting them), and the reference chain's node; one ADD each first."""
        if "waiting" in self.pairs:
            return self.pairs["waiting"]
        podnet_node = Node(self.work, "podnet", self.podnet, self.track)
        reference = Node(self.work, "reference", self.podnet, self.track)
        items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}},
                 {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "bench"},
                  "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]
        for serial in range(1, 400):
            items.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"namespace": "bench", "name": f"{podnet_node.name}-p{serial}", "labels": {"app": "web"}},
                          "spec": {"nodeName": "bench-node", "containers": [{"name": "c", "ports": []}]},
                          "status": {"phase": "Pending"}})
        cluster = os.path.join(podnet_node.work, "cluster.json")
        with open(cluster, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
        self.watch = PlacementWatch(podnet_node, cluster)
        for node in (podnet_node, reference):
            container, pod = node.new_pod()
            node.invoke("ADD", container, pod)
        self.pairs["waiting"] = (podnet_node, reference)
        return self.pairs["waiting"]

    def until_it_can_talk(self, node):
        """podnet: from ADD's start until watch has placed the pod (its line is printed once
        the pod's policy sets hold it and its wait is over). The reference chain: its ADD,
        after which the pod talks (it has no policy)."""
        container, pod = node.new_pod()
        if node.kind != "podnet":
            return node.invoke("ADD", container, pod)
        start = time.perf_counter()
        node.invoke("ADD", container, pod)
        return self.watch.placed(f"pod bench/{pod} changed") - start

    def pair(self, kind, rules=False):
        """Two nodes (podnet's, the reference chain's) whose node-level state exists, as on a
        running node: one ADD each before the measured ones. "policy": podnet's nodes with
        the NetworkPolicy List applied and without, the same node config."""
        if kind not in self.pairs:
            if kind == "policy":
                config_path, cluster = self.policy
                with open(config_path) as f:
                    config = f.read()
                pair = (Node(self.work, "podnet", self.podnet, self.track, config=config, cluster=cluster),
                        Node(self.work, "podnet", self.podnet, self.track, config=config))
            else:
                pair = (Node(self.work, "podnet", self.podnet, self.track), Node(self.work, "reference", self.podnet, self.track))
            for node in pair:
                if rules:
                    node.load_kube_proxy_rules(self.kube_proxy_rules)
                container, pod = node.new_pod()
                node.invoke("ADD", container, pod)
            self.pairs[kind] = pair
        return self.pairs[kind]

    @staticmethod
    def add(port_mappings=lambda: None):
        def timed(node):
            container, pod = node.new_pod()
            return node.invoke("ADD", container, pod, port_mappings())
        return timed

    @staticmethod
    def delete(node):
        container, pod = node.new_pod()
        node.invoke("ADD", container, pod)
        return node.invoke("DEL", container, pod)

    def parallel_adds(self, node):
        pods = [node.new_pod() for _ in range(self.parallel)]
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.parallel) as pool:
            list(pool.map(lambda item: node.invoke("ADD", *item), pods))
        return time.perf_counter() - start

    def scenarios(self):
        """(row name, () -> CNIScenario), as bench.py's `planned` takes them."""
        port = [20000]

        def one_port():
            port[0] += 1
            return [{"hostPort": port[0], "containerPort": 80, "protocol": "tcp"}]
        crowded = lambda: self.pair("crowded", rules=True)  # noqa: E731
        policy = []
        if self.policy:
            name = "CNI ADD on a node with NetworkPolicy (10,000 pods, 1,000 policies applied)"
            row = CNIScenario(name, 1.1, lambda: self.pair("policy"), self.add())
            row.peer_label = "podnet's ADD on the same node without them"
            policy = [(name, lambda: row)]
        return [
            ("CNI ADD, a pod without host ports",
             lambda: CNIScenario("CNI ADD, a pod without host ports", 0.25, lambda: self.pair("plain"), self.add())),
            ("CNI DEL of such a pod",
             lambda: CNIScenario("CNI DEL of such a pod", 0.25, lambda: self.pair("plain"), self.delete)),
            ("CNI ADD without host ports beside 50,000 kube-proxy nat rules",
             lambda: CNIScenario("CNI ADD without host ports beside 50,000 kube-proxy nat rules", 0.05, crowded,
                                 self.add())),
            ("CNI ADD with one host port beside 50,000 kube-proxy nat rules",
             lambda: CNIScenario("CNI ADD with one host port beside 50,000 kube-proxy nat rules", 0.2, crowded,
                                 self.add(one_port))),
            (f"CNI: {self.parallel} ADDs in parallel (wall time)",
             lambda: CNIScenario(f"CNI: {self.parallel} ADDs in parallel (wall time)", 0.5,
                                 lambda: self.pair("parallel"), self.parallel_adds, runs=lambda runs: max(3, runs // 2))),
            ("CNI ADD until the pod can talk, on a node with NetworkPolicy (podnet watch ends its wait)",
             lambda: CNIScenario("CNI ADD until the pod can talk, on a node with NetworkPolicy (podnet watch ends its wait)",
                                 1.0, self.waiting_pair, self.until_it_can_talk)),
        ] + policy


class PlacementWatch:
    """`podnet watch` on a node, its stdout read as it comes: when each line arrived."""

    def __init__(self, node, cluster):
        import atexit
        import threading
        fifo = os.path.join(node.work, "events")
        os.mkfifo(fifo)
        self.process = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{node.name}", node.podnet, "watch", "-f", os.path.join(node.work, "node.yaml"),
             "--cluster", cluster, "--events", fifo, "--data-dir", os.path.join(node.work, "data")],
            env=node.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        atexit.register(self.process.kill)
        self.events = open(fifo, "w")  # held open: the stream never ends
        self.lines = []
        self.arrived = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()
        self.placed("initial apply")

    def read(self):
        for line in self.process.stdout:
            with self.arrived:
                self.lines.append((time.perf_counter(), line))
                self.arrived.notify_all()

    def placed(self, text, timeout=30):
        """When the first line holding `text` arrived (it is then taken)."""
        deadline = time.perf_counter() + timeout
        with self.arrived:
            while True:
                for index, (when, line) in enumerate(self.lines):
                    if text in line:
                        del self.lines[:index + 1]
                        return when
                left = deadline - time.perf_counter()
                if left <= 0 or self.process.poll() is not None:
                    raise RuntimeError(f"podnet watch printed no line with {text!r}")
                self.arrived.wait(left)


def main():
    """`make bench-cni`: only the CNI rows, printed (`make bench` writes them into BENCHMARKS.md)."""
    import bench
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--podnet", default=".build-bench/release/podnet")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--parallel", type=int, default=100)
    args = parser.parse_args()
    log = lambda text: print(text, flush=True)  # noqa: E731
    work = tempfile.mkdtemp(prefix="podnet-cni-bench-")
    namespaces = []
    try:
        rules = os.path.join(work, "kube-proxy.rules")
        count = generate.write_kube_proxy_rules(rules, 50000)
        log(f"    {count:,} kube-proxy nat rules in each node of the 50,000-rule scenarios")
        import netpol_bench
        netpol_bench.write_inputs(lambda name: os.path.join(work, name))
        policy = (os.path.join(work, "netpol-config.json"), os.path.join(work, "cluster.json"))
        cni = CNIBench(os.path.abspath(args.podnet), work, log, rules, namespaces.append, args.parallel, policy)
        results = []
        for name, make in cni.scenarios():
            scenario = make()
            log(f"==> {scenario.name}: podnet vs {scenario.peer_label}, {args.runs} runs each, alternating")
            results.append(scenario.run(args.runs, log))
    finally:
        for name in reversed(namespaces):
            subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    rows, failed = bench.table(results, args.runs, None)
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
