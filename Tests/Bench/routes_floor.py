#!/usr/bin/env python3
"""The floors under the peer-route goals of issue 15: what the bare kernel operations and
the fastest JSON readers here cost, beside podnet, in one run (medians of --runs).

- from empty, 5,000 dual-stack peers: `ip -batch` of podnet's own form (5,000 `nexthop add`,
  5,000 IPv4 `route add ... nhid`, 5,000 classic IPv6 `route add`), each run in a fresh
  namespace: the kernel's cost of the creates plus iproute2's one message per ack.
- a no-op / one node IP changed among N peers: the bare dumps (Tests/Bench/bare_read.c:
  libiptc read of nat and filter in both families + one route dump of both families;
  `ip nexthop show` to /dev/null for the nexthops) and the config file parsed by
  Python's json.load (timed inside the interpreter, its start left out) and by jq.

    python3 Tests/Bench/routes_floor.py --podnet .build-bench/release/podnet [--runs 5]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import generate  # noqa: E402


def median_seconds(argv, runs, stdin=None, prepare=None, cleanup=None):
    times = []
    for index in range(runs + 1):
        context = prepare() if prepare else None
        try:
            command = argv(context) if callable(argv) else argv
            seconds = bench.measure(command, stdin=stdin).seconds
        finally:
            if cleanup:
                cleanup(context)
        if index > 0:
            times.append(seconds)
    return statistics.median(times)


def json_load_seconds(path, runs):
    """json.load alone, inside one interpreter (its start is not the parse)."""
    script = ("import json, sys, time\n"
              "times = []\n"
              f"for _ in range({runs}):\n"
              f"    with open({path!r}) as f:\n"
              "        start = time.perf_counter(); json.load(f); times.append(time.perf_counter() - start)\n"
              "times.sort(); print(times[len(times) // 2])\n")
    return float(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)


def nexthop_form_batch(config_path):
    """podnet's writes as `ip -batch` lines: a nexthop per IPv4 node IP and a route through
    it, IPv6 routes classic (RouteForm.preferred)."""
    import json
    with open(config_path) as f:
        config = json.load(f)
    lines, nexthops = [], []
    for index, peer in enumerate(config["peers"], start=1):
        v4 = next(ip for ip in peer["nodeIPs"] if ":" not in ip)
        v6 = next(ip for ip in peer["nodeIPs"] if ":" in ip)
        nexthops.append(f"nexthop add id {index} via {v4} dev {bench.Namespaces.UPLINK} proto 111")
        for cidr in peer["podCIDRs"]:
            lines.append(f"route add {cidr} nhid {index} proto 111" if ":" not in cidr
                         else f"route add {cidr} via {v6} proto 111")
    return nexthops + lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--podnet", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    podnet = os.path.abspath(args.podnet)
    work = tempfile.mkdtemp(prefix="podnet-floor-")
    namespaces = bench.Namespaces()
    b = bench.Bench(podnet, work, namespaces, print)
    path = b.path
    bare_read = path("bare_read")
    bench.build_bare_read(bare_read)
    rows = []
    try:
        generate.write_json(path("peers-5000.json"), generate.peers_config(5000))
        batch = path("nexthop-form.batch")
        with open(batch, "w") as f:
            f.write("\n".join(nexthop_form_batch(path("peers-5000.json"))) + "\n")
        rows.append(("from empty, 5,000 peers: podnet apply",
                     median_seconds(lambda ns: b.apply_argv(path("peers-5000.json"), ns), args.runs,
                                    prepare=b.fresh(), cleanup=namespaces.delete)))
        rows.append(("from empty, 5,000 peers: ip -batch of podnet's form (15,000 writes)",
                     median_seconds(lambda ns: ["ip", "-n", ns, "-batch", batch], args.runs,
                                    prepare=b.fresh(), cleanup=namespaces.delete)))
        for count in (20000, 50000):
            config = path(f"peers-{count}.json")
            generate.write_json(config, generate.peers_config(count))
            namespace = b.fresh(config)()
            try:
                rows.append((f"{count:,} peers: podnet apply, no change",
                             median_seconds(b.apply_argv(config, namespace), args.runs)))
                dumps = median_seconds([bare_read, namespace], args.runs)
                nexthops = median_seconds(bench.inside(namespace, ["ip", "nexthop", "show"]), args.runs)
                rows.append((f"{count:,} peers: bare dumps (bare_read: iptables + routes)", dumps))
                rows.append((f"{count:,} peers: ip nexthop show > /dev/null", nexthops))
                parse = json_load_seconds(config, args.runs)
                rows.append((f"{count:,} peers: python json.load of the config (in-process)", parse))
                rows.append((f"{count:,} peers: jq empty < config", median_seconds(["jq", "empty"], args.runs, stdin=config)))
                rows.append((f"{count:,} peers: floor = bare dumps + nexthop show + json.load", dumps + nexthops + parse))
            finally:
                namespaces.delete(namespace)
    finally:
        namespaces.delete_all()
    for name, seconds in rows:
        print(f"{seconds:8.3f} s  {name}")


if __name__ == "__main__":
    main()
