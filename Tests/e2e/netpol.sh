#!/usr/bin/env bash
# NetworkPolicy truth tables on the real kernel, modelled on the upstream e2e tests
# (test/e2e/network/netpol): namespaces x, y, z with pods a, b, c, spread over three
# podnet nodes (pod a of every namespace on node-1, b on node-2, c on node-3, so that
# each matrix has same-node bridged and cross-node routed pairs); every pod serves ports
# 80 and 81 over TCP and UDP (SCTP: this kernel has none). For each case family the
# whole 9 x 9 matrix is probed on each port and protocol and compared with the
# expectation written out here (not computed by podnet), as the upstream tests do.
# A pod to itself is not probed (implementation-defined). One PASS/FAIL line per case.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_tools

NAMESPACES_K8S=(x y z)
PODS_K8S=(a b c)
pod_node() { case $1 in a) echo 1 ;; b) echo 2 ;; c) echo 3 ;; esac; }
pod_ip() { echo "10.244.$(pod_node "$2").$(case $1 in x) echo 10 ;; y) echo 11 ;; z) echo 12 ;; esac)"; }
k8s_pod_ns() { echo "$PREFIX-pod-$1$2"; }

make_underlay
for i in 1 2 3; do make_node "$i"; done
for ns in "${NAMESPACES_K8S[@]}"; do for p in "${PODS_K8S[@]}"; do add_namespace "$(k8s_pod_ns "$ns" "$p")"; done; done

for i in 1 2 3; do
  {
    echo "node:"
    echo "  name: node-$i"
    echo "  podCIDRs: [10.244.$i.0/24]"
    echo "cluster:"
    echo "  podCIDRs: [10.244.0.0/16]"
    echo "peers:"
    for j in 1 2 3; do
      [ "$j" = "$i" ] && continue
      echo "  - {name: node-$j, nodeIPs: [$(node_v4 "$j")], podCIDRs: [10.244.$j.0/24]}"
    done
    echo "pods:"
    for ns in "${NAMESPACES_K8S[@]}"; do for p in "${PODS_K8S[@]}"; do
      [ "$(pod_node "$p")" = "$i" ] || continue
      echo "  - {name: $ns-$p, netns: $(k8s_pod_ns "$ns" "$p"), ips: [$(pod_ip "$ns" "$p")]}"
    done; done
  } >"$WORK/node-$i.yaml"
done

# cluster_list FILE LABEL_OVERRIDES POLICY_JSON...: the List every node is given. LABEL_OVERRIDES
# is "ns/pod=key:value,..." for pods whose labels differ from pod=<name>.
cluster_list() {
  local file=$1 overrides=$2; shift 2
  python3 - "$file" "$overrides" "$@" <<'EOF'
import json, sys
file, overrides, policies = sys.argv[1], sys.argv[2], sys.argv[3:]
nodes = {"a": 1, "b": 2, "c": 3}
hosts = {"x": 10, "y": 11, "z": 12}
labels = {}
for entry in filter(None, overrides.split(",")):
    name, pair = entry.split("=")
    key, value = pair.split(":")
    labels.setdefault(name, {})[key] = value
items = [{"kind": "Namespace", "metadata": {"name": ns}} for ns in "xyz"]
for ns in "xyz":
    for pod in "abc":
        ports = [{"name": f"serve-{port}-{proto.lower()}", "containerPort": port, "protocol": proto}
                 for port in (80, 81) for proto in ("TCP", "UDP")]
        items.append({"kind": "Pod",
                      "metadata": {"name": pod, "namespace": ns, "labels": labels.get(f"{ns}/{pod}", {"pod": pod})},
                      "spec": {"nodeName": f"node-{nodes[pod]}", "containers": [{"name": "c", "ports": ports}]},
                      "status": {"phase": "Running", "podIP": f"10.244.{nodes[pod]}.{hosts[ns]}"}})
items += [json.loads(policy) for policy in policies]
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(file, "w"), indent=1)
EOF
}

apply_cluster() {
  local i out
  for i in 1 2 3; do
    out=$("$PODNET" apply -f "$WORK/node-$i.yaml" --netns "$(node_ns "$i")" --cluster "$WORK/cluster.json" 2>&1) \
      || { echo "FAIL apply on node-$i: $out"; return 1; }
  done
}

# The matrix one source pod sees: one line per destination, port and protocol, "DST PORT PROTO 1|0".
probe_from() {
  local ns=$1 pod=$2 targets=()
  local t_ns t_pod
  for t_ns in "${NAMESPACES_K8S[@]}"; do for t_pod in "${PODS_K8S[@]}"; do
    [ "$t_ns/$t_pod" = "$ns/$pod" ] && continue
    targets+=("$t_ns/$t_pod=$(pod_ip "$t_ns" "$t_pod")")
  done; done
  in_ns "$(k8s_pod_ns "$ns" "$pod")" python3 - "${targets[@]}" <<'EOF'
import socket, sys
for target in sys.argv[1:]:
    name, ip = target.split("=")
    for port in (80, 81):
        for proto in ("tcp", "udp"):
            ok = 0
            try:
                if proto == "tcp":
                    s = socket.create_connection((ip, port), 1)
                    s.sendall(b"hi\n")
                else:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.settimeout(1)
                    s.connect((ip, port))
                    s.send(b"hi\n")
                ok = 1 if s.recv(100) else 0
                s.close()
            except OSError:
                ok = 0
            print(f"{name} {port} {proto} {ok}")
EOF
}

# expect_matrix CASE PYTHON_EXPR: the expression sees src_ns, src, dst_ns, dst, port, proto
# and is true where the connection must go through.
PASSED=0 FAILED=0
check_case() {
  local name=$1 expression=$2 ns pod
  : >"$WORK/observed"
  for ns in "${NAMESPACES_K8S[@]}"; do for pod in "${PODS_K8S[@]}"; do
    probe_from "$ns" "$pod" | sed "s|^|$ns/$pod |" >>"$WORK/observed"
  done; done
  local wrong
  wrong=$(python3 - "$WORK/observed" "$expression" <<'EOF'
import sys
observed, expression = sys.argv[1], sys.argv[2]
wrong = []
for line in open(observed):
    source, destination, port, proto, ok = line.split()
    src_ns, src = source.split("/")
    dst_ns, dst = destination.split("/")
    port = int(port)
    expected = bool(eval(expression))
    if expected != (ok == "1"):
        wrong.append(f"{source}->{destination}:{port}/{proto} {'allowed' if ok == '1' else 'denied'}")
print(f"{len(wrong)} of {sum(1 for _ in open(observed))} wrong: " + " ".join(wrong[:8]) if wrong else "")
EOF
)
  if [ -z "$wrong" ]; then
    echo "PASS $name"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $name: $wrong"
    FAILED=$((FAILED + 1))
  fi
}

# NETPOL_CASES=REGEX runs only the cases whose names match.
run_case() {
  local name=$1 overrides=$2 expression=$3; shift 3
  [[ $name =~ ${NETPOL_CASES:-.} ]] || return 0
  cluster_list "$WORK/cluster.json" "$overrides" "$@"
  apply_cluster || { FAILED=$((FAILED + 1)); return; }
  # The probes must be new connections. A UDP probe whose random source port happens to be
  # that of the previous case's flow would be an existing connection, which conntrack keeps
  # through a policy change (README: existing connections), and it would be let through where
  # the new policy denies it (seen once in CI: x/a->z/b:80/udp). Policy changes on
  # established flows are checked in NetworkPolicyKernelTests.
  local i
  for i in 1 2 3; do
    in_ns "$(node_ns "$i")" conntrack -F >/dev/null 2>&1 \
      || { echo "FAIL $name: conntrack -F on node-$i"; FAILED=$((FAILED + 1)); return; }
  done
  check_case "$name" "$expression"
}

for ns in "${NAMESPACES_K8S[@]}"; do for pod in "${PODS_K8S[@]}"; do
  start_server "$(k8s_pod_ns "$ns" "$pod")" "$ns-$pod-80" 80
  start_server "$(k8s_pod_ns "$ns" "$pod")" "$ns-$pod-81" 81
done; done
for ns in "${NAMESPACES_K8S[@]}"; do for pod in "${PODS_K8S[@]}"; do
  wait_for_server "$ns-$pod-80"; wait_for_server "$ns-$pod-81"
done; done

policy() {  # policy NAMESPACE NAME SPEC_JSON
  printf '{"kind": "NetworkPolicy", "metadata": {"namespace": "%s", "name": "%s"}, "spec": %s}' "$1" "$2" "$3"
}
A_IN_X='{"matchLabels": {"pod": "a"}}'

run_case "no policies: everything reaches everything" "" "True"
run_case "default deny ingress in x" "" "dst_ns != 'x'" \
  "$(policy x deny '{"podSelector": {}, "policyTypes": ["Ingress"]}')"
run_case "default deny egress in x" "" "src_ns != 'x'" \
  "$(policy x deny '{"podSelector": {}, "policyTypes": ["Egress"]}')"
run_case "default deny all in x" "" "src_ns != 'x' and dst_ns != 'x'" \
  "$(policy x deny '{"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}')"
run_case "allow x/a from namespace y" "" "not (dst_ns, dst) == ('x', 'a') or src_ns == 'y'" \
  "$(policy x a-from-y "{\"podSelector\": $A_IN_X, \"ingress\": [{\"from\": [{\"namespaceSelector\": {\"matchLabels\": {\"kubernetes.io/metadata.name\": \"y\"}}}]}]}")"
run_case "allow x/a from pod b of x" "" "not (dst_ns, dst) == ('x', 'a') or (src_ns, src) == ('x', 'b')" \
  "$(policy x a-from-b "{\"podSelector\": $A_IN_X, \"ingress\": [{\"from\": [{\"podSelector\": {\"matchLabels\": {\"pod\": \"b\"}}}]}]}")"
run_case "allow x/a from pods b of namespaces y and z (both selectors)" "" \
  "not (dst_ns, dst) == ('x', 'a') or (src_ns in ('y', 'z') and src == 'b')" \
  "$(policy x a-from-yz-b "{\"podSelector\": $A_IN_X, \"ingress\": [{\"from\": [{\"podSelector\": {\"matchLabels\": {\"pod\": \"b\"}}, \"namespaceSelector\": {\"matchExpressions\": [{\"key\": \"kubernetes.io/metadata.name\", \"operator\": \"In\", \"values\": [\"y\", \"z\"]}]}}]}]}")"
run_case "allow x/a from an ipBlock with except (node-2's pods carved out)" "" \
  "not (dst_ns, dst) == ('x', 'a') or src != 'b'" \
  "$(policy x a-from-block "{\"podSelector\": $A_IN_X, \"ingress\": [{\"from\": [{\"ipBlock\": {\"cidr\": \"10.244.0.0/16\", \"except\": [\"10.244.2.0/24\"]}}]}]}")"
run_case "allow x/a on the named port serve-80-tcp only" "" \
  "not (dst_ns, dst) == ('x', 'a') or (port == 80 and proto == 'tcp')" \
  "$(policy x a-web "{\"podSelector\": $A_IN_X, \"ingress\": [{\"ports\": [{\"port\": \"serve-80-tcp\"}]}]}")"
run_case "allow x/a on TCP 80 through endPort 81" "" "not (dst_ns, dst) == ('x', 'a') or proto == 'tcp'" \
  "$(policy x a-range "{\"podSelector\": $A_IN_X, \"ingress\": [{\"ports\": [{\"protocol\": \"TCP\", \"port\": 80, \"endPort\": 81}]}]}")"
run_case "allow x/a on UDP 81 only" "" "not (dst_ns, dst) == ('x', 'a') or (port == 81 and proto == 'udp')" \
  "$(policy x a-udp "{\"podSelector\": $A_IN_X, \"ingress\": [{\"ports\": [{\"protocol\": \"UDP\", \"port\": 81}]}]}")"
run_case "multiple policies: deny ingress in x, allow x/a from namespace z" "" \
  "dst_ns != 'x' or ((dst_ns, dst) == ('x', 'a') and src_ns == 'z')" \
  "$(policy x deny '{"podSelector": {}, "policyTypes": ["Ingress"]}')" \
  "$(policy x a-from-z "{\"podSelector\": $A_IN_X, \"ingress\": [{\"from\": [{\"namespaceSelector\": {\"matchLabels\": {\"kubernetes.io/metadata.name\": \"z\"}}}]}]}")"
run_case "egress from x only to node-3's pods (a CIDR) on named ports serve-80-*" "" \
  "src_ns != 'x' or (dst == 'c' and port == 80)" \
  "$(policy x egress-c '{"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.244.3.0/24"}}], "ports": [{"port": "serve-80-tcp"}, {"protocol": "UDP", "port": "serve-80-udp"}]}]}')"
# Label and policy changes: sets change, and the next probes follow.
B_TO_A="$(policy x a-from-b "{\"podSelector\": $A_IN_X, \"ingress\": [{\"from\": [{\"podSelector\": {\"matchLabels\": {\"pod\": \"b\"}}}]}]}")"
run_case "pod label change: x/c labelled pod=b is let in" "x/c=pod:b" \
  "not (dst_ns, dst) == ('x', 'a') or (src_ns, src) in (('x', 'b'), ('x', 'c'))" "$B_TO_A"
run_case "policy update: x/a now from pod c only" "" "not (dst_ns, dst) == ('x', 'a') or (src_ns, src) == ('x', 'c')" \
  "$(policy x a-from-b "{\"podSelector\": $A_IN_X, \"ingress\": [{\"from\": [{\"podSelector\": {\"matchLabels\": {\"pod\": \"c\"}}}]}]}")"
run_case "policies removed: everything reaches everything again" "" "True"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
