"""`podnet watch` rows of bench.py: the time from a kubectl watch event written to the
stream until watch reports it applied (its `watch: ...` line), against what the same
change costs without a resident process.

  one pod added, as a watch event      watch running over the 10,000-pod, 1,000-policy
                                       cluster; each run an ADDED Pod (a frontend of the
                                       namespace whose ten policies select it, on this
                                       node, a new address) vs the full reload
                                       (ipset restore + iptables-legacy-restore), as the
                                       one-shot row                        goal <= 0.05x
  one peer's node IP, as a watch event watch running with a 20,000-node NodeList; each run
                                       a MODIFIED Node with a new InternalIP vs podnet
                                       apply from empty of 20,000 peers    goal <= 0.02x

Each side alternates as in bench.py's rows. The watch's peak memory is its VmHWM (the
initial full apply included). After the runs `podnet diff` of the objects the events
made must find nothing to do, and every run's line must say it took the cheap path.
"""

import copy
import json
import os
import shutil
import resource
import subprocess
import time

import generate
import netpol_bench


class RunningWatch:
    """A `podnet watch` in `namespace` reading a FIFO of events."""

    def __init__(self, kit, bench, arguments, namespace, name):
        self.fifo = bench.path(f"{name}.events")
        if os.path.exists(self.fifo):
            os.unlink(self.fifo)
        os.mkfifo(self.fifo)
        self.stderr = open(bench.path(f"{name}.stderr"), "w")
        argv = [bench.podnet, "watch"] + arguments + ["--events", self.fifo, "--netns", namespace]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        # Opens once watch has made its initial apply and opened the stream.
        self.events = os.open(self.fifo, os.O_WRONLY)
        line = self.next_line()
        if not line.startswith("watch: initial apply"):
            raise kit.BenchError(f"podnet watch did not start: {line!r}")
        self.kit = kit

    def next_line(self):
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"podnet watch ended (exit {self.process.wait()}); see {self.stderr.name}")
            if line.startswith("watch: "):
                return line.strip()

    def send(self, event):
        """Seconds from the write until watch's line; the line."""
        text = json.dumps(event, indent=4).encode() + b"\n"
        start = time.perf_counter()
        os.write(self.events, text)
        line = self.next_line()
        return time.perf_counter() - start, line

    def peak_kib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        os.close(self.events)
        status = self.process.wait()
        self.stderr.close()
        os.unlink(self.fifo)
        if status != 0:
            raise self.kit.BenchError(f"podnet watch exited {status}; see {self.stderr.name}")


class WatchScenario:
    """A row measured here: watch's side is an event and its line, not a command."""

    podnet = None
    memory_rule = None
    needs_apply = True

    def __init__(self, kit, bench, name, goal, peer_label, start, event, expected, peer, check):
        self.kit, self.bench = kit, bench
        self.name, self.goal, self.peer_label = name, goal, peer_label
        self.start = start          # () -> (RunningWatch, namespace)
        self.event = event          # run index -> event
        self.expected = expected    # text every run's line must hold
        self.peer = peer            # bench.py Side
        self.check = check          # (namespace, events sent) -> None; raises on a difference

    def run(self, runs, log):
        kit = self.kit
        watch, namespace = self.start()
        podnet, peer, sent = [], [], []
        try:
            for index in range(runs + 1):
                event = self.event(index)
                cpu = watch.cpu_seconds()
                seconds, line = watch.send(event)
                sent.append(event)
                if self.expected not in line:
                    raise kit.BenchError(f"{self.name}: watch took another path: {line}")
                context = self.peer.prepare()
                try:
                    argv, stdin = self.peer.command(context)
                    measured = kit.measure(argv, stdin=stdin)
                finally:
                    self.peer.cleanup(context)
                if index > 0:
                    podnet.append(kit.Measurement(seconds, 0, watch.cpu_seconds() - cpu))
                    peer.append(measured)
                    log(f"    pair {index}: podnet {seconds * 1000:.1f} ms ({line}), peer {measured.seconds:.3f} s, "
                        f"ratio {seconds / measured.seconds:.3f}")
            peak = watch.peak_kib()
            for measurement in podnet:
                measurement.peak_kib = peak
            self.check(namespace, sent)
        finally:
            watch.close()
            self.bench.namespaces.delete(namespace)
        return kit.Result(self, podnet, peer)


def one_pod_added(kit, bench, scenarios):
    config, cluster = bench.path("netpol-config.json"), bench.path("cluster.json")
    namespace_name = netpol_bench.namespace_name(netpol_bench.CROWDED_NAMESPACE)

    def pod(index):
        # Addresses past the node's 110 pods and the one-shot row's added pod.
        return netpol_bench.pod_item(namespace_name, "app-0", "frontend", 200 + index, 0, f"10.0.0.{150 + index}")

    def start():
        namespace = bench.namespaces.create()
        # A node where podnet is also the CNI plugin: watch keeps the cluster state for the
        # plugin's runs in the store (each pod event appends its change to it).
        store = bench.path(f"watch-store-{namespace}")
        shutil.rmtree(store, ignore_errors=True)
        os.makedirs(os.path.join(store, "allocations"))
        arguments = ["-f", config, "--cluster", cluster, "--data-dir", store]
        return RunningWatch(kit, bench, arguments, namespace, "watch-pods"), namespace

    def check(namespace, events):
        with open(cluster) as f:
            listed = json.load(f)
        listed["items"] += [event["object"] for event in events]
        after = bench.path("cluster-watched.json")
        with open(after, "w") as f:
            json.dump(listed, f)
        # Exit 2 (a BenchError) when the kernel differs from a whole apply of the same objects.
        kit.run([bench.podnet, "diff", "-f", config, "--cluster", after, "--netns", namespace])

    return WatchScenario(
        kit, bench, f"NetworkPolicy: one pod added that {netpol_bench.CROWDED_POLICIES} policies select, "
                    "as a watch event (podnet watch, with a CNI store)",
        0.05, "the full reload: ipset restore + iptables-legacy-restore", start,
        lambda index: {"type": "ADDED", "object": pod(index)}, "set members only",
        netpol_bench.peer_side(kit, bench, scenarios.inputs), check)


def node_ip_changed(kit, bench):
    config, nodes = bench.path("nodelist-config.json"), bench.path("nodes-20000.json")
    if not os.path.exists(nodes):
        generate.write_node_list(nodes, 20000)
    with open(nodes) as f:
        listed = json.load(f)
    moved = 10000

    def node(index):
        item = copy.deepcopy(listed["items"][moved])
        for address in item["status"]["addresses"]:
            if address["type"] == "InternalIP" and ":" not in address["address"]:
                address["address"] = generate.node_ipv4(20000 + moved + index)
        return item

    def start():
        namespace = bench.namespaces.create()
        return RunningWatch(kit, bench, ["-f", config, "--nodes", nodes], namespace, "watch-nodes"), namespace

    def check(namespace, events):
        after = copy.deepcopy(listed)
        after["items"][moved] = events[-1]["object"]
        path = bench.path("nodes-20000-watched.json")
        with open(path, "w") as f:
            json.dump(after, f)
        kit.run([bench.podnet, "diff", "-f", config, "--nodes", path, "--netns", namespace])

    before = bench.path("peers-20000.json")
    return WatchScenario(
        kit, bench, "one peer's node IP changed among 20,000, as a watch event (podnet watch)", 0.02,
        "podnet apply from empty, 20,000 peers", start, lambda index: {"type": "MODIFIED", "object": node(index)},
        "nexthop", kit.Side(lambda ns: (bench.apply_argv(before, ns), None), bench.fresh(), bench.namespaces.delete),
        check)


def planned(kit, bench, netpol_scenarios):
    """bench.py's `planned` entries: (name, scenario maker)."""
    return [("NetworkPolicy: one pod added, as a watch event with a CNI store", lambda: one_pod_added(kit, bench, netpol_scenarios)),
            ("one peer's node IP changed among 20,000, as a watch event", lambda: node_ip_changed(kit, bench))]
