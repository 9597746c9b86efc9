"""NetworkPolicy at cluster scale (issue 14): podnet against the way kube-router loads
the same rules and sets (`ipset restore` + `iptables-legacy-restore`).

The cluster is `kubectl get namespaces,pods,networkpolicies -A -o json` as kubectl prints
it (4-space indent, the fields a Deployment's pod really has): 10,000 pods in 500
namespaces, 110 of them on the measured node, and 1,000 policies in the shapes of the
upstream e2e tests (default deny ingress and egress, allow from a namespace, from pods,
from both, ipBlock with except, named ports, endPort, several policies stacked on one
pod). Namespace ns-001 holds ten policies that all select its frontend pods, so the pod
added in the one-pod scenario (a frontend of ns-001 on this node) is selected by ten.

Scenarios (their Side and Scenario objects are bench.py's; `kit` is that module):

  full apply      podnet apply from empty (node config + --cluster) vs `ipset restore` of
                  the same sets then `iptables-legacy-restore` of the same rules, both
                  taken from podnet's own render; goal <= 1.0x
  one pod added   podnet apply of the List with the pod added, over the applied state, vs
                  that same full reload (what kube-router does on every change); goal
                  <= 0.05x; checked (untimed, under strace) to commit no table
  rule count      render at 1,000 policies vs 250 (time, goal <= 4.0x: linear), the filter
                  table's rule count at 250, 500 and 1,000 policies in the row's name
  reading         podnet validate --cluster (the List read and the policy compiled: what
                  either apply cannot skip) vs python3 json.load of the List; goal <= 1.0x,
                  peak memory no higher
"""

import hashlib
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402

PODS = 10_000
NAMESPACES = 500
POLICIES = 1_000
LOCAL_PODS = 110
PODS_PER_NODE = 110
# The namespace whose ten policies all select its frontends (the added pod is one).
CROWDED_NAMESPACE = 1
CROWDED_POLICIES = 10

ROLES = ["frontend", "backend", "db", "worker"]
# Each role's container ports: (name, number, protocol). "http" is 8080 on frontends and
# 8000 on backends, so a named-port rule over both resolves to two numbers.
ROLE_PORTS = {
    "frontend": [("http", 8080, "TCP"), ("metrics", 9090, "TCP")],
    "backend": [("http", 8000, "TCP"), ("grpc", 9000, "TCP"), ("metrics", 9090, "TCP")],
    "db": [("postgres", 5432, "TCP")],
    "worker": [("metrics", 9090, "TCP")],
}
IMAGES = {"frontend": "docker.io/library/nginx:1.27.2", "backend": "ghcr.io/example/api:2.14.1",
          "db": "docker.io/library/postgres:16.4", "worker": "ghcr.io/example/worker:2.14.1"}


def namespace_name(index):
    return "kube-system" if index == 0 else f"ns-{index:03d}"


def uid(seed):
    d = hashlib.sha256(seed.encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def namespace_item(index):
    name = namespace_name(index)
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {
            "creationTimestamp": "2026-11-20T09:20:11Z",
            "labels": {"kubernetes.io/metadata.name": name, "team": f"team-{index % 50:02d}",
                       "env": ["prod", "staging", "dev"][index % 3]},
            "name": name, "resourceVersion": str(2000 + index), "uid": uid("ns" + name),
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def pod_item(namespace, app, role, replica, node, ip):
    """A Deployment's pod as kubectl prints it."""
    template_hash = hashlib.sha256(f"{namespace}/{app}".encode()).hexdigest()[:10]
    name = f"{app}-{template_hash}-{hashlib.sha256(f'{namespace}/{app}/{replica}'.encode()).hexdigest()[:5]}"
    labels = {"app": app, "role": role, "pod-template-hash": template_hash, "version": "v2"}
    if namespace == "kube-system" and app == "app-0":
        labels["k8s-app"] = "kube-dns"
    container = "main"
    started = "2026-11-25T14:02:17Z"
    ports = [{"containerPort": number, "name": port_name, "protocol": protocol}
             for port_name, number, protocol in ROLE_PORTS[role]]
    host_ip = generate.node_ipv4(node)
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-25T14:01:58Z"},
            "creationTimestamp": "2026-11-25T14:02:03Z",
            "generateName": f"{app}-{template_hash}-",
            "labels": labels,
            "name": name, "namespace": namespace,
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                                 "kind": "ReplicaSet", "name": f"{app}-{template_hash}",
                                 "uid": uid(f"rs{namespace}/{app}")}],
            "resourceVersion": str(500000 + replica), "uid": uid(f"pod{namespace}/{name}"),
        },
        "spec": {
            "containers": [{
                "env": [{"name": "LOG_LEVEL", "value": "info"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                "image": IMAGES[role], "imagePullPolicy": "IfNotPresent", "name": container,
                "ports": ports,
                "readinessProbe": {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": ports[0]["containerPort"],
                                                                      "scheme": "HTTP"},
                                   "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
                "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                  "name": "kube-api-access-" + template_hash[:5], "readOnly": True}],
            }],
            "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "nodeName": generate.node_name(node),
            "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccount": "default",
            "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
            "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "tolerationSeconds": 300},
                            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
                             "tolerationSeconds": 300}],
            "volumes": [{"name": "kube-api-access-" + template_hash[:5], "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                            "path": "namespace"}]}}]}}],
        },
        "status": {
            "conditions": [{"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": kind}
                           for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                        "PodScheduled")],
            "containerStatuses": [{
                "containerID": "containerd://" + hashlib.sha256(name.encode()).hexdigest(),
                "image": IMAGES[role], "imageID": IMAGES[role].rsplit(":", 1)[0] + "@sha256:"
                + hashlib.sha256(IMAGES[role].encode()).hexdigest(),
                "lastState": {}, "name": container, "ready": True, "restartCount": 0, "started": True,
                "state": {"running": {"startedAt": started}},
            }],
            "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "phase": "Running",
            "podIP": ip, "podIPs": [{"ip": ip}], "qosClass": "Burstable", "startTime": "2026-11-25T14:02:03Z",
        },
    }


def policy_item(namespace, name, spec, index):
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"creationTimestamp": "2026-11-21T10:00:00Z", "generation": 1, "name": name,
                     "namespace": namespace, "resourceVersion": str(900000 + index), "uid": uid(f"np{namespace}/{name}")},
        "spec": spec,
    }


def selector(labels=None, expressions=None):
    out = {}
    if labels:
        out["matchLabels"] = labels
    if expressions:
        out["matchExpressions"] = expressions
    return out


def tcp(port, end=None):
    entry = {"port": port, "protocol": "TCP"}
    if end:
        entry["endPort"] = end
    return entry


def policy_shapes(ns_index, target):
    """The upstream e2e shapes, as (name, spec); `target` is the pod selector of those
    that select some pods (the crowded namespace gives one that selects its frontends)."""
    team = f"team-{(ns_index * 7 + 3) % 50:02d}"
    return [
        ("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        ("allow-from-team", {"podSelector": target or selector({"app": "app-1"}),
                             "ingress": [{"from": [{"namespaceSelector": selector({"team": team})}],
                                          "ports": [tcp(8000), tcp(9000)]}]}),
        ("allow-from-frontends", {"podSelector": target or selector({"role": "backend"}),
                                  "ingress": [{"from": [{"podSelector": selector({"role": "frontend"})}],
                                               "ports": [tcp("http")]}]}),
        ("allow-backends-of-prod", {"podSelector": target or selector({"role": "db"}),
                                    "ingress": [{"from": [{"namespaceSelector": selector(expressions=[
                                        {"key": "env", "operator": "In", "values": ["prod", "staging"]}]),
                                        "podSelector": selector({"role": "backend"})}],
                                        "ports": [tcp(5432)]}]}),
        ("allow-from-office", {"podSelector": target or selector({"role": "frontend"}),
                               "ingress": [{"from": [{"ipBlock": {"cidr": "172.16.0.0/12",
                                                                  "except": [f"172.16.{ns_index % 256}.0/24",
                                                                             "172.31.0.0/16"]}}],
                                            "ports": [tcp(8080), tcp(8443)]}]}),
        ("allow-node-ports", {"podSelector": target or selector({"role": "worker"}),
                              "ingress": [{"from": [{"podSelector": {}}], "ports": [tcp(30000, 30100)]}]}),
        ("default-deny-egress-but-dns", {"podSelector": target or {}, "policyTypes": ["Egress"],
                                         "egress": [{"to": [{"namespaceSelector": selector(
                                             {"kubernetes.io/metadata.name": "kube-system"}),
                                             "podSelector": selector({"k8s-app": "kube-dns"})}],
                                             "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]}),
        ("frontends-to-backends", {"podSelector": target or selector({"role": "frontend"}), "policyTypes": ["Egress"],
                                   "egress": [{"to": [{"podSelector": selector(expressions=[
                                       {"key": "role", "operator": "NotIn", "values": ["db"]}])}],
                                       "ports": [tcp("http")]}]}),
        ("allow-internet-egress", {"podSelector": target or selector({"role": "frontend"}), "policyTypes": ["Egress"],
                                   "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [
                                       "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
                                       "ports": [tcp(443)]}]}),
        ("allow-monitoring", {"podSelector": target or {},
                              "ingress": [{"from": [{"namespaceSelector": selector({"kubernetes.io/metadata.name":
                                                                                   "kube-system"}),
                                                     "podSelector": selector({"app": "app-2"})}],
                                           "ports": [tcp("metrics")]},
                                          {"from": [{"podSelector": selector({"app": f"app-{ns_index % 4}"})}]}]}),
    ]


def policies(count):
    """`count` policies (the first of the 1,000 in order: the crowded namespace's ten,
    then two per namespace in turn, in rotating shapes)."""
    items = []
    crowded = namespace_name(CROWDED_NAMESPACE)
    frontend_selectors = [{}, selector({"role": "frontend"}), selector({"app": "app-0"}),
                          selector(expressions=[{"key": "role", "operator": "In", "values": ["frontend", "backend"]}]),
                          selector(expressions=[{"key": "role", "operator": "Exists"}])]
    for number, (name, spec) in enumerate(policy_shapes(CROWDED_NAMESPACE, None)):
        spec = json.loads(json.dumps(spec))
        spec["podSelector"] = frontend_selectors[number % len(frontend_selectors)]
        items.append(policy_item(crowded, name, spec, len(items)))
    shape = 0
    while len(items) < count:
        for ns in range(NAMESPACES):
            if ns == CROWDED_NAMESPACE:
                continue
            shapes = policy_shapes(ns, None)
            name, spec = shapes[shape % len(shapes)]
            items.append(policy_item(namespace_name(ns), f"{name}-{shape}", spec, len(items)))
            shape += 1
            if len(items) == count:
                break
    return items


def pods():
    """(items, the added pod): 20 pods per namespace (4 apps of 5 replicas), 110 on
    this node, the rest 110 a node; the added pod is a frontend of the crowded namespace."""
    rng = random.Random(1414)
    local = set(rng.sample(range(PODS), LOCAL_PODS))
    per_node = {}
    items = []
    remote = 0
    for index in range(PODS):
        ns, within = divmod(index, PODS // NAMESPACES)
        app = within // 5
        if index in local:
            node = 0
        else:
            node = 1 + remote // PODS_PER_NODE
            remote += 1
        slot = per_node.get(node, 0)
        per_node[node] = slot + 1
        ip = f"10.{node >> 8}.{node & 255}.{2 + slot}"
        items.append(pod_item(namespace_name(ns), f"app-{app}", ROLES[app], within % 5, node, ip))
    added = pod_item(namespace_name(CROWDED_NAMESPACE), "app-0", "frontend", 99, 0, f"10.0.0.{2 + per_node[0]}")
    return items, added


def cluster_list(pod_items, policy_count):
    items = [namespace_item(i) for i in range(NAMESPACES)] + pod_items + policies(policy_count)
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def write_inputs(path):
    """Writes config, the Lists (1,000 policies, with the added pod, at 250 and 500
    policies) into the directory `path` names via path(name); returns the sizes."""
    generate.write_json(path("netpol-config.json"), generate.base_config(dual_stack=False))
    pod_items, added = pods()
    # kubectl prints 4-space indented JSON.
    generate.write_json(path("cluster.json"), cluster_list(pod_items, POLICIES), indent=4)
    generate.write_json(path("cluster-added.json"), cluster_list(pod_items + [added], POLICIES), indent=4)
    for count in (250, 500):
        generate.write_json(path(f"cluster-{count}.json"), cluster_list(pod_items, count), indent=4)
    return os.path.getsize(path("cluster.json"))


# --- the peer's input ------------------------------------------------------------------

def ipset_restore_text(render_text):
    """podnet render's `ipset create/add` lines as `ipset restore` input."""
    lines = []
    for line in render_text.splitlines():
        if line.startswith("ipset create ") or line.startswith("ipset add "):
            lines.append(line[len("ipset "):])
    if not lines:
        raise ValueError("podnet render printed no ipset")
    return "\n".join(lines) + "\n"


def filter_rule_count(restore_text):
    """Rules (-A lines) in the *filter section of an iptables-restore input."""
    count, table = 0, None
    for line in restore_text.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith("-A ") and table == "filter":
            count += 1
    return count


class Inputs:
    """The peer's two files and the counts, from podnet's own render of the List."""

    def __init__(self, kit, bench, cluster):
        config = bench.path("netpol-config.json")
        base = [bench.podnet, "render", "-f", config, "--cluster", cluster]
        name = os.path.basename(cluster).rsplit(".", 1)[0]
        self.rules = bench.path(f"{name}.rules")
        self.sets = bench.path(f"{name}.ipsets")
        rules = kit.run(base + ["--iptables", "ipv4"], capture=True)
        sets = ipset_restore_text(kit.run(base, capture=True))
        with open(self.rules, "w") as f:
            f.write(rules)
        with open(self.sets, "w") as f:
            f.write(sets)
        self.filter_rules = filter_rule_count(rules)
        self.set_count = sets.count("\ncreate ") + sets.startswith("create ")
        self.members = sets.count("\nadd ")


def peer_side(kit, bench, inputs):
    """kube-router's load: the sets first (rules name them), then the rules."""
    script = f"ipset restore -file {inputs.sets} && iptables-legacy-restore --noflush {inputs.rules}"
    return kit.Side(lambda ns: (kit.inside(ns, ["sh", "-c", script]), None), bench.fresh(), bench.namespaces.delete)


def apply_argv(bench, cluster, namespace):
    return bench.apply_argv(bench.path("netpol-config.json"), namespace) + ["--cluster", cluster]


def normalised_save(kit, namespace):
    """The filter and nat tables (counters and comments of the save itself dropped) and
    the sets, sorted, as the kernel holds them."""
    rules = kit.run(kit.inside(namespace, ["sh", "-c", "iptables-legacy-save -t filter; iptables-legacy-save -t nat"]),
                    capture=True)
    rules = [re.sub(r"\[\d+:\d+\]", "", line) for line in rules.splitlines() if not line.startswith("#")]
    sets = kit.run(kit.inside(namespace, ["ipset", "save"]), capture=True)
    # A set's header carries its hash parameters (initval is random per set).
    sets = sorted(re.sub(r" (hashsize|maxelem|bucketsize|initval) \w+", "", line) for line in sets.splitlines())
    return rules, sets


def check_same_load(kit, bench, inputs):
    """Both sides, run once outside the timing, leave the same rules and sets (the peer
    really loaded what podnet writes)."""
    podnet_ns, peer_ns = bench.namespaces.create(), bench.namespaces.create()
    try:
        kit.run(apply_argv(bench, bench.path("cluster.json"), podnet_ns))
        argv, _ = peer_side(kit, bench, inputs).command(peer_ns)
        kit.run(argv)
        podnet_rules, podnet_sets = normalised_save(kit, podnet_ns)
        peer_rules, peer_sets = normalised_save(kit, peer_ns)
        members = sum(1 for line in peer_sets if line.startswith("add "))
        if members != inputs.members or podnet_sets != peer_sets:
            raise kit.BenchError(f"the peer's sets ({members} members) differ from podnet's ({inputs.members} rendered)")
        policy_rules = [line for line in peer_rules if "PODNET-" in line and line.startswith("-A")]
        if len(policy_rules) < inputs.filter_rules or podnet_rules != peer_rules:
            raise kit.BenchError("the peer's tables differ from what podnet applies")
    finally:
        bench.namespaces.delete(podnet_ns)
        bench.namespaces.delete(peer_ns)


def check_no_commit(kit, bench):
    """The one-pod apply, run once under strace from the same prepared state: set member
    adds and no iptables table replaced (not timed: strace slows every call)."""
    namespace = bench.namespaces.create()
    trace = bench.path("one-pod.strace")
    try:
        kit.run(apply_argv(bench, bench.path("cluster.json"), namespace))
        kit.run(["strace", "-f", "-qq", "-e", "trace=setsockopt,sendto,sendmsg", "-o", trace]
                + apply_argv(bench, bench.path("cluster-added.json"), namespace))
        with open(trace) as f:
            calls = f.read()
    finally:
        bench.namespaces.delete(namespace)
    if "IPT_SO_SET_REPLACE" in calls or "IP6T_SO_SET_REPLACE" in calls:
        raise kit.BenchError("the one-pod apply committed an iptables table")
    # NFNL_SUBSYS_IPSET << 8 | IPSET_CMD_ADD (strace does not decode another namespace's netlink).
    if "nlmsg_type=0x609" not in calls:
        raise kit.BenchError("the one-pod apply added no set member: the check proves nothing")


class NetpolScenarios:
    """Built once for the three rows (the renders and the checks are shared)."""

    def __init__(self, kit, bench):
        self.kit, self.bench = kit, bench
        self._inputs = None

    @property
    def inputs(self):
        if self._inputs is None:
            self._inputs = Inputs(self.kit, self.bench, self.bench.path("cluster.json"))
            self.bench.log(f"    peer input: {self._inputs.set_count:,} sets, {self._inputs.members:,} members, "
                           f"{self._inputs.filter_rules:,} filter rules")
            check_same_load(self.kit, self.bench, self._inputs)
        return self._inputs

    def full_apply(self):
        kit, bench = self.kit, self.bench
        cluster = bench.path("cluster.json")
        return kit.Scenario(
            f"NetworkPolicy full apply from empty, {PODS:,} pods, {POLICIES:,} policies",
            kit.Side(lambda ns: (apply_argv(bench, cluster, ns), None), bench.fresh(), bench.namespaces.delete),
            peer_side(kit, bench, self.inputs),
            goal=1.0, peer_label="ipset restore + iptables-legacy-restore of the same sets and rules",
            needs_apply=True)

    def one_pod_added(self):
        kit, bench = self.kit, self.bench
        before, after = bench.path("cluster.json"), bench.path("cluster-added.json")
        check_no_commit(kit, bench)

        def prepared():
            namespace = bench.namespaces.create()
            kit.run(apply_argv(bench, before, namespace))
            return namespace
        return kit.Scenario(
            f"NetworkPolicy: one pod added that {CROWDED_POLICIES} policies select (no table commit)",
            kit.Side(lambda ns: (apply_argv(bench, after, ns), None), prepared, bench.namespaces.delete),
            peer_side(kit, bench, self.inputs),
            goal=0.05, peer_label="the full reload: ipset restore + iptables-legacy-restore", needs_apply=True)

    def reading(self):
        """What podnet's apply cannot skip (the List read and checked, the policy compiled):
        the floor under both apply rows, beside a common JSON reader of the same List."""
        kit, bench = self.kit, self.bench
        config, cluster = bench.path("netpol-config.json"), bench.path("cluster.json")
        return kit.Scenario(
            f"NetworkPolicy: the List read and compiled (validate --cluster, {PODS:,} pods, {POLICIES:,} policies)",
            kit.Side(lambda _: ([bench.podnet, "validate", "-q", "-f", config, "--cluster", cluster], None)),
            kit.Side(lambda _: ([sys.executable, "-c", f"import json; json.load(open({cluster!r}))"], None)),
            goal=1.0, peer_label="python3 json.load of the List", memory_rule=kit.memory_no_higher)

    def rule_scaling(self):
        kit, bench = self.kit, self.bench
        counts = {count: Inputs(kit, bench, bench.path(f"cluster-{count}.json")).filter_rules for count in (250, 500)}
        counts[POLICIES] = self.inputs.filter_rules
        config = bench.path("netpol-config.json")
        render = lambda cluster: [bench.podnet, "render", "-f", config, "--cluster", cluster,  # noqa: E731
                                  "--iptables", "ipv4"]
        shown = ", ".join(f"{count:,}: {rules:,}" for count, rules in sorted(counts.items()))
        return kit.Scenario(
            f"NetworkPolicy render, 1,000 policies vs 250 (filter rules at 250, 500, 1,000 policies: {shown})",
            kit.Side(lambda _: (render(bench.path("cluster.json")), None)),
            kit.Side(lambda _: (render(bench.path("cluster-250.json")), None)),
            goal=4.0, peer_label="podnet render, 250 policies")


def planned(kit, bench, scenarios):
    """bench.py's `planned` entries: (name, scenario maker)."""
    return [("NetworkPolicy full apply from empty", scenarios.full_apply),
            ("NetworkPolicy: one pod added", scenarios.one_pod_added),
            ("NetworkPolicy render, 1,000 policies vs 250", scenarios.rule_scaling),
            ("NetworkPolicy: the List read and compiled", scenarios.reading)]


if __name__ == "__main__":
    # Writes the inputs into a directory, for looking at them: netpol_bench.py DIR
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    size = write_inputs(lambda name: os.path.join(directory, name))
    print(f"cluster.json: {size / 1e6:.1f} MB")
    subprocess.run(["ls", "-l", directory])
