"""Inputs for the benchmarks, generated deterministically into a scratch directory.

Addressing (all documentation/benchmark ranges):
  node IPs       198.18.0.0/15 and 2001:db8::/32; this node is 198.18.0.1 and 2001:db8::1
  pod CIDRs      10.0.0.0/8 split in /24s and fd00:10::/48 split in /64s, one pair per node
  service IPs    10.96.0.0/12 (kube-proxy's rules only)
"""

import hashlib
import base64
import ipaddress
import json
import random

NODE_NAME = "bench-node"
NODE_IPV4 = "198.18.0.1"
NODE_IPV6 = "2001:db8::1"
NODE_IPV4_PREFIX = 15
NODE_IPV6_PREFIX = 32
CLUSTER_CIDRS = ["10.0.0.0/8", "fd00:10::/48"]
# This node is index 0; peers are 1..N.
NODE_POD_CIDRS = ["10.0.0.0/24", "fd00:10::/64"]

IPV4_BASE = int(ipaddress.IPv4Address("198.18.0.0"))
IPV6_BASE = int(ipaddress.IPv6Address("2001:db8::"))


def node_name(index):
    return NODE_NAME if index == 0 else f"node-{index:05d}"


def node_ipv4(index):
    return str(ipaddress.IPv4Address(IPV4_BASE + 1 + index))


def node_ipv6(index):
    return str(ipaddress.IPv6Address(IPV6_BASE + 1 + index))


def pod_cidrs(index):
    return [f"10.{index >> 8}.{index & 255}.0/24", f"fd00:10:0:{index:x}::/64"]


def write_json(path, value, indent=None):
    with open(path, "w") as f:
        json.dump(value, f, indent=indent)
        f.write("\n")


# --- configs -------------------------------------------------------------------

def base_config(dual_stack=True):
    return {
        "version": 1,
        "node": {"name": NODE_NAME, "podCIDRs": NODE_POD_CIDRS if dual_stack else NODE_POD_CIDRS[:1]},
        "cluster": {"podCIDRs": CLUSTER_CIDRS if dual_stack else CLUSTER_CIDRS[:1]},
    }


def peers_config(count):
    """A dual-stack config with `count` peers, each with both node IPs and both pod CIDRs."""
    config = base_config()
    config["peers"] = [
        {"name": node_name(i), "nodeIPs": [node_ipv4(i), node_ipv6(i)], "podCIDRs": pod_cidrs(i)}
        for i in range(1, count + 1)
    ]
    return config


def host_ports_config(count, protocol="tcp"):
    """An IPv4-only config with `count` host ports (TCP unless said) to pods on this node."""
    config = base_config(dual_stack=False)
    config["hostPorts"] = [
        {"podIP": f"10.0.0.{2 + i % 250}", "protocol": protocol, "hostPort": 20000 + i,
         "containerPort": 8080, "pod": f"web-{i % 250}"}
        for i in range(count)
    ]
    return config


# --- NodeList as `kubectl get nodes -o json` prints it ---------------------------

IMAGE_NAMES = [
    "registry.k8s.io/kube-proxy:v1.31.2", "registry.k8s.io/pause:3.10", "registry.k8s.io/coredns/coredns:v1.11.3",
    "docker.io/library/nginx:1.27.2", "docker.io/library/redis:7.4.1", "docker.io/library/postgres:16.4",
    "quay.io/prometheus/node-exporter:v1.8.2", "quay.io/prometheus/prometheus:v2.55.0",
    "registry.k8s.io/metrics-server/metrics-server:v0.7.2", "docker.io/grafana/grafana:11.3.0",
    "docker.io/bitnami/kafka:3.8.1", "docker.io/bitnami/zookeeper:3.9.3", "ghcr.io/fluxcd/source-controller:v1.4.1",
    "registry.k8s.io/ingress-nginx/controller:v1.11.3", "docker.io/calico/node:v3.28.2",
    "docker.io/library/busybox:1.37.0", "gcr.io/distroless/static-debian12:nonroot",
    "docker.io/jaegertracing/all-in-one:1.62.0", "docker.io/library/mysql:8.4.3", "docker.io/library/memcached:1.6.32",
    "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.12.0", "registry.k8s.io/sig-storage/livenessprobe:v2.14.0",
    "docker.io/fluent/fluent-bit:3.1.9", "docker.io/library/alpine:3.20.3",
]


def digest(seed):
    return hashlib.sha256(seed.encode()).hexdigest()


def node_item(index, rng):
    name = node_name(index)
    zone = f"zone-{index % 3}"
    images = []
    for image in rng.sample(IMAGE_NAMES, 9):
        repo = image.rsplit(":", 1)[0]
        images.append({"names": [f"{repo}@sha256:{digest(image + name)}", image],
                       "sizeBytes": rng.randrange(300_000, 900_000_000)})
    heartbeat = f"2026-11-26T21:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"
    transition = "2026-11-20T09:14:03Z"

    def condition(kind, status, reason, message):
        return {"lastHeartbeatTime": heartbeat, "lastTransitionTime": transition, "message": message,
                "reason": reason, "status": status, "type": kind}

    cidrs = pod_cidrs(index)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "csi.volume.kubernetes.io/nodeid": json.dumps({"ebs.csi.aws.com": f"i-{digest(name)[:17]}"}),
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": "2026-11-20T09:13:41Z",
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/instance-type": "m6i.xlarge",
                "beta.kubernetes.io/os": "linux",
                "failure-domain.beta.kubernetes.io/region": "eu-west-1",
                "failure-domain.beta.kubernetes.io/zone": zone,
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": "m6i.xlarge",
                "topology.kubernetes.io/region": "eu-west-1",
                "topology.kubernetes.io/zone": zone,
            },
            "name": name,
            "resourceVersion": str(100000 + index * 7),
            "uid": f"{digest(name)[:8]}-{digest(name)[8:12]}-{digest(name)[12:16]}-{digest(name)[16:20]}-{digest(name)[20:32]}",
        },
        "spec": {
            "podCIDR": cidrs[0],
            "podCIDRs": cidrs,
            "providerID": f"aws:///eu-west-1a/i-{digest(name)[:17]}",
        },
        "status": {
            "addresses": [
                {"address": node_ipv4(index), "type": "InternalIP"},
                {"address": node_ipv6(index), "type": "InternalIP"},
                {"address": f"ip-{node_ipv4(index).replace('.', '-')}.eu-west-1.compute.internal", "type": "InternalDNS"},
                {"address": name, "type": "Hostname"},
            ],
            "allocatable": {"cpu": "3920m", "ephemeral-storage": "76224326324", "hugepages-1Gi": "0",
                            "hugepages-2Mi": "0", "memory": "15186436Ki", "pods": "110"},
            "capacity": {"cpu": "4", "ephemeral-storage": "83873772Ki", "hugepages-1Gi": "0",
                         "hugepages-2Mi": "0", "memory": "15898116Ki", "pods": "110"},
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images,
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": digest("boot" + name)[:36],
                "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "6.1.0-27-cloud-amd64",
                "kubeProxyVersion": "v1.31.2",
                "kubeletVersion": "v1.31.2",
                "machineID": digest("machine" + name)[:32],
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": digest("uuid" + name)[:36],
            },
            "volumesAttached": [
                {"devicePath": "", "name": f"kubernetes.io/csi/ebs.csi.aws.com^vol-{digest(name + 'v' + str(v))[:17]}"}
                for v in range(2)
            ],
            "volumesInUse": [f"kubernetes.io/csi/ebs.csi.aws.com^vol-{digest(name + 'v' + str(v))[:17]}" for v in range(2)],
        },
    }


def node_list(count):
    """`kubectl get nodes -o json` for `count` nodes, this node (index 0) among them."""
    rng = random.Random(5000)
    return {
        "apiVersion": "v1",
        "items": [node_item(i, rng) for i in range(count)],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


def nodelist_config():
    """The config that goes with the NodeList: this node's name and the cluster CIDRs only."""
    return {"version": 1, "node": {"name": NODE_NAME}, "cluster": {"podCIDRs": CLUSTER_CIDRS}}


def write_node_list(path, count):
    # kubectl prints 4-space indented JSON with ": " and "," separators, keys sorted.
    write_json(path, node_list(count), indent=4)


# --- kube-proxy's nat rules (iptables-legacy-restore input) -----------------------

def kube_proxy_chain(prefix, seed):
    """kube-proxy's chain names: prefix + the first 16 characters of base32(sha256(...))."""
    hashed = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()
    return prefix + hashed[:16]


def kube_proxy_rules(rule_target):
    """A kube-proxy (iptables mode) nat and filter table with about `rule_target` nat rules:
    services with 3 endpoints each (11 nat rules per service), comments, statistic matches, DNATs.
    Returns (restore text, number of nat rules)."""
    endpoints_per_service = 3
    per_service = 2 + 3 * endpoints_per_service
    fixed = 7
    services = (rule_target - fixed) // per_service
    service_base = int(ipaddress.IPv4Address("10.96.0.0"))
    chains = ["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-KUBELET-CANARY"]
    rules = [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
        "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ]
    service_rules = []
    for s in range(services):
        namespace = f"ns-{s % 97:02d}"
        service = f"{namespace}/svc-{s:05d}:http"
        cluster_ip = str(ipaddress.IPv4Address(service_base + 10 + s))
        svc_chain = kube_proxy_chain("KUBE-SVC-", service + "tcp")
        chains.append(svc_chain)
        service_rules.append(f'-A KUBE-SERVICES -d {cluster_ip}/32 -p tcp -m comment --comment "{service} cluster IP" '
                             f"-m tcp --dport 80 -j {svc_chain}")
        rules.append(f'-A {svc_chain} ! -s 10.0.0.0/8 -d {cluster_ip}/32 -p tcp -m comment --comment "{service} cluster IP" '
                     f"-m tcp --dport 80 -j KUBE-MARK-MASQ")
        for e in range(endpoints_per_service):
            pod = (s * endpoints_per_service + e) % 60000
            endpoint_ip = f"10.{1 + pod // 250 // 256}.{pod // 250 % 256}.{2 + pod % 250}"
            sep_chain = kube_proxy_chain("KUBE-SEP-", service + "tcp" + endpoint_ip)
            chains.append(sep_chain)
            remaining = endpoints_per_service - e
            statistic = f"-m statistic --mode random --probability {1 / remaining:.11f} " if remaining > 1 else ""
            rules.append(f'-A {svc_chain} -m comment --comment "{service} -> {endpoint_ip}:8080" {statistic}-j {sep_chain}')
            rules.append(f'-A {sep_chain} -s {endpoint_ip}/32 -m comment --comment "{service}" -j KUBE-MARK-MASQ')
            rules.append(f'-A {sep_chain} -p tcp -m comment --comment "{service}" -m tcp '
                         f"-j DNAT --to-destination {endpoint_ip}:8080")
    service_rules.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the '
                         'last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    nat_rules = rules + service_rules
    lines = ["*nat"] + [f":{c} - [0:0]" for c in chains] + nat_rules + ["COMMIT"]
    lines += [
        "*filter",
        ":KUBE-FIREWALL - [0:0]", ":KUBE-FORWARD - [0:0]", ":KUBE-SERVICES - [0:0]", ":KUBE-EXTERNAL-SERVICES - [0:0]",
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" '
        "-j KUBE-EXTERNAL-SERVICES",
        "-A INPUT -j KUBE-FIREWALL",
        '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
        '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        "-A OUTPUT -j KUBE-FIREWALL",
        '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" '
        "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack '
        "--ctstate RELATED,ESTABLISHED -j ACCEPT",
        "COMMIT",
    ]
    return "\n".join(lines) + "\n", len(nat_rules)


def write_kube_proxy_rules(path, rule_target):
    text, count = kube_proxy_rules(rule_target)
    with open(path, "w") as f:
        f.write(text)
    return count
