#!/usr/bin/env bash
# podnet as the CNI plugin of real clients, on the real kernel, every node and host a
# throwaway network namespace (lib.sh's topology; deleted also on failure or ^C):
#
#   node-1  podman 4.3 (network_backend = "cni") with podnet as its only plugin: only the
#           conflist and the node config; the container's ADD makes the node's state
#   node-2  podnet apply with a pod of its own (pod-2a, an echo server): the other node
#   node-3  podman with the reference plugins configured as kubenet did (bridge +
#           host-local + portmap, masquerade added as kubelet did): the control
#
# Each podman container runs a local busybox image (no registry) serving "NAME" on
# port 80, published as -p 8080:80. The same checks run against both plugins: the
# container's address, a pod on another node seeing it with its own source address, the
# outside seeing it masqueraded, -p 8080:80 from another node and from the node itself;
# for podnet also `podnet diff` (the container is part of the node's desired state) and
# `podman rm` releasing everything. Then 100 ADDs in parallel on node-1 straight through
# the binary: 100 distinct addresses, all reachable; 100 DELs: nothing left.
#
# One PASS/FAIL line per check; the last line counts them; non-zero exit when any failed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_tools
for tool in podman runc nsenter busybox; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (make deps installs it)" >&2; exit 1; }
done
REFERENCE_PLUGINS=${REFERENCE_PLUGINS:-/usr/lib/cni}

# The checks here wait 3 seconds for an answer (e2e.sh waits 2).
ANSWER_TIMEOUT=3

# expect CHECK COMMAND...: the command succeeds.
expect() {
  local check=$1 output; shift
  if output=$("$@" 2>&1); then pass "$check"; else fail "$check" "$(echo "$output" | tail -n 5)"; fi
}

# ---------------------------------------------------------------- the cluster

section "cluster: underlay, outside host, three nodes, pod-2a on node-2"
make_underlay
for i in 1 2 3; do make_node "$i"; done
# The underlay router knows no pod subnet: pods reach the outside only masqueraded.
make_pod 2a
write_node_config "$WORK/node-2.yaml" 2 "1 3"
# write_node_config gives node-2 two pods; only pod-2a exists here.
python3 - "$WORK/node-2.yaml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
cut = text.index("  - name: pod-2b")
open(path, "w").write(text[:cut])
PY
expect "podnet apply node-2" podnet_on 2 apply --data-dir "$WORK/data-2"
start_servers "$(pod_ns 2a)" pod-2a "$OUTSIDE" outside
# node-1's config: its pod CIDRs, its peers, no pods (the runtime brings them).
{
  echo "node:"
  echo "  name: node-1"
  echo "  podCIDRs: [10.244.1.0/24, \"fd00:10:244:1::/64\"]"
  echo "cluster:"
  echo "  podCIDRs: [10.244.0.0/16, \"fd00:10:244::/56\"]"
  echo "peers:"
  for j in 2 3; do
    echo "  - name: node-$j"
    echo "    nodeIPs: [$(node_v4 "$j"), \"$(node_v6 "$j")\"]"
    echo "    podCIDRs: [10.244.$j.0/24, \"fd00:10:244:$j::/64\"]"
  done
} >"$WORK/node-1.yaml"
# The control's node routes to node-2's pods by hand (kubenet left that to the cloud).
ip -n "$(node_ns 3)" route add 10.244.2.0/24 via "$(node_v4 2)"

# ---------------------------------------------------------------- podman

# A busybox image from the local static binary: no registry.
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/proc" "$WORK/rootfs/sys" "$WORK/rootfs/dev" "$WORK/rootfs/etc" "$WORK/rootfs/tmp"
cp "$(command -v busybox)" "$WORK/rootfs/bin/busybox"
for applet in sh nc ip sleep cat echo timeout hostname; do ln -s busybox "$WORK/rootfs/bin/$applet"; done

# podman_on NODE ARGS...: node NODE's own podman (its storage, its CNI config), run in
# the node's namespace with nsenter (ip netns exec would remount /sys and hide cgroups).
podman_on() {
  local i=$1; shift
  CONTAINERS_CONF=$WORK/podman-$i/containers.conf PATH=$WORK/podman-$i/path:$PATH \
    nsenter --net="/run/netns/$(node_ns "$i")" \
    podman --root "$WORK/podman-$i/root" --runroot "$WORK/podman-$i/runroot" --tmpdir "$WORK/podman-$i/tmp" \
      --storage-driver overlay --runtime runc "$@"
}

# setup_podman NODE PLUGIN_DIR CONFLIST
setup_podman() {
  local i=$1 plugins=$2 conflist=$3
  local dir=$WORK/podman-$i
  mkdir -p "$dir/net.d" "$dir/root" "$dir/runroot" "$dir/tmp" "$dir/path"
  # The reference portmap runs the iptables on PATH: the legacy one, as podnet's tables.
  for tool in iptables ip6tables; do ln -s "$(command -v "$tool-legacy")" "$dir/path/$tool"; done
  cat >"$dir/containers.conf" <<CONF
[network]
network_backend = "cni"
cni_plugin_dirs = ["$plugins"]
network_config_dir = "$dir/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  echo "$conflist" >"$dir/net.d/net.conflist"
  tar -C "$WORK/rootfs" -c . | podman_on "$i" import - localhost/bb >/dev/null
}

# podnet as the only plugin: its binary linked into a CNI directory, as `make install` does.
mkdir -p "$WORK/cni-bin"
ln -s "$PODNET" "$WORK/cni-bin/podnet"
setup_podman 1 "$WORK/cni-bin" "{\"cniVersion\": \"1.0.0\", \"name\": \"podnet\", \"plugins\": [
  {\"type\": \"podnet\", \"nodeConfig\": \"$WORK/node-1.yaml\", \"dataDir\": \"$WORK/data-1\",
   \"capabilities\": {\"portMappings\": true}}]}"
# kubenet's chain: bridge on cbr0 as the gateway, host-local with the node's pod CIDR,
# portmap; kubelet added the masquerade rule itself.
setup_podman 3 "$REFERENCE_PLUGINS" "{\"cniVersion\": \"0.4.0\", \"name\": \"kubenet\", \"plugins\": [
  {\"type\": \"bridge\", \"bridge\": \"cbr0\", \"mtu\": 1460, \"isGateway\": true, \"ipMasq\": false, \"hairpinMode\": true,
   \"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"10.244.3.0/24\"}]], \"routes\": [{\"dst\": \"0.0.0.0/0\"}],
              \"dataDir\": \"$WORK/ipam-3\"}},
  {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}}]}"
in_ns "$(node_ns 3)" iptables-legacy -t nat -A POSTROUTING -s 10.244.3.0/24 ! -d 10.244.0.0/16 \
  -m comment --comment "kubelet: masquerade" -j MASQUERADE
in_ns "$(node_ns 3)" sysctl -qw net.ipv4.ip_forward=1

# run_web NODE NETWORK: a container serving its name on port 80, published as 8080.
run_web() {
  local i=$1 network=$2
  podman_on "$i" run -d --name "web-$i" --network "$network" -p 8080:80 \
    --ulimit nofile=20000:20000 --ulimit nproc=20000:20000 localhost/bb \
    sh -c "while true; do echo web-$i | nc -l -p 80; done"
}

for node in 1:podnet:podnet 3:kubenet:reference; do
  IFS=: read -r i network plugin <<<"$node"
  section "podman on node-$i with the $plugin plugin"
  if ! out=$(run_web "$i" "$network" 2>&1); then
    fail "podman run on node-$i ($plugin)" "$out"
    continue
  fi
  pass "podman run on node-$i ($plugin)"
  if [ "$plugin" = podnet ]; then
    # The ADD made the node's own state; routes to the peers stay podnet apply's job.
    diff=$(podnet_on 1 diff --data-dir "$WORK/data-1" 2>&1 || true)
    if grep -q "route add" <<<"$diff" && ! grep -q "pod" <<<"$diff"; then
      pass "podnet diff after the ADD: only the peer routes are missing, the container is kept"
    else
      fail "podnet diff after the ADD: only the peer routes are missing, the container is kept" "$diff"
    fi
    expect "podnet apply adds the peer routes" podnet_on 1 apply --data-dir "$WORK/data-1"
  fi
  address=$(podman_on "$i" inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "web-$i")
  if [ "$address" = "10.244.$i.2" ]; then pass "container on node-$i has 10.244.$i.2"; else fail "container on node-$i has 10.244.$i.2" "got \"$address\""; fi
  answer=$(podman_on "$i" exec "web-$i" sh -c "echo hi | nc -w 3 $(pod_v4 2a) $ECHO_PORT" 2>&1 || true)
  if [ "$answer" = "pod-2a saw $address" ]; then pass "node-$i container -> pod-2a keeps its address ($answer)"
  else fail "node-$i container -> pod-2a keeps its address" "answer \"$answer\""; fi
  answer=$(podman_on "$i" exec "web-$i" sh -c "echo hi | nc -w 3 $OUTSIDE_V4 $ECHO_PORT" 2>&1 || true)
  if [ "$answer" = "outside saw $(node_v4 "$i")" ]; then pass "node-$i container -> outside masqueraded ($answer)"
  else fail "node-$i container -> outside masqueraded" "answer \"$answer\""; fi
  expect_answer "-p 8080:80 on node-$i from node-2" "$(node_ns 2)" tcp "$(node_v4 "$i")" 8080 "web-$i"
  expect_answer "-p 8080:80 on node-$i from the node's own address" "$(node_ns "$i")" tcp "$(node_v4 "$i")" 8080 "web-$i"
  expect_answer "-p 8080:80 on node-$i from the node's 127.0.0.1" "$(node_ns "$i")" tcp 127.0.0.1 8080 "web-$i"
done

section "podnet's node model on node-1"
expect "podnet diff exits 0: the container is part of the node's desired state" podnet_on 1 diff --data-dir "$WORK/data-1"
chain=$(in_ns "$(node_ns 1)" iptables-legacy-save -t nat | awk '/^:PODNET-HP-/ {print substr($1, 2); exit}')
in_ns "$(node_ns 1)" iptables-legacy -t nat -F "$chain"
expect "podnet apply repairs the container's host-port rules" podnet_on 1 apply --data-dir "$WORK/data-1"
expect_answer "after the repair: -p 8080:80 on node-1 from node-2" "$(node_ns 2)" tcp "$(node_v4 1)" 8080 "web-1"

section "podman rm releases everything"
podman_on 1 rm -f -t 0 web-1 >/dev/null 2>&1 || true
left=$("$PODNET" allocations --data-dir "$WORK/data-1")
if [ -z "$left" ]; then pass "podman rm: no allocation left"; else fail "podman rm: no allocation left" "$left"; fi
left=$( { ip -n "$(node_ns 1)" -br link | awk '{print $1}' | grep -E '^(veth|podnet-)' || true
          in_ns "$(node_ns 1)" iptables-legacy-save -t nat | grep -E 'PODNET-HP-|hostport' || true
          in_ns "$(node_ns 1)" ip6tables-legacy-save -t nat | grep -E 'PODNET-HP-|hostport' || true; } )
if [ -z "$left" ]; then pass "podman rm: no host end, no host-port rule left"; else fail "podman rm: no host end, no host-port rule left" "$left"; fi
podman_on 3 rm -f -t 0 web-3 >/dev/null 2>&1 || true

# ---------------------------------------------------------------- 100 parallel ADDs

section "100 ADDs in parallel, then 100 DELs, on node-1"
COUNT=${PARALLEL_ADDS:-100}
CONFIG="{\"cniVersion\":\"1.0.0\",\"name\":\"podnet\",\"type\":\"podnet\",\"nodeConfig\":\"$WORK/node-1.yaml\",\"dataDir\":\"$WORK/data-1\"}"
# cni VERB N: the binary as libcni calls it, for container cN in namespace p-N.
cni() {
  local verb=$1 n=$2
  echo "$CONFIG" | CNI_COMMAND=$verb CNI_CONTAINERID="c$n" CNI_NETNS="/run/netns/$PREFIX-p-$n" CNI_IFNAME=eth0 \
    CNI_PATH="$WORK/cni-bin" ip netns exec "$(node_ns 1)" "$PODNET" >"$WORK/cni-$verb-$n.json"
}
for n in $(seq 1 "$COUNT"); do add_namespace "$PREFIX-p-$n"; done
start=$(now)
pids=()
for n in $(seq 1 "$COUNT"); do cni ADD "$n" & pids+=($!); done
failures=0
for pid in "${pids[@]}"; do wait "$pid" || failures=$((failures + 1)); done
echo "     $COUNT parallel ADDs took $(seconds_since "$start")"
if [ "$failures" -eq 0 ]; then pass "$COUNT parallel ADDs succeeded"; else fail "$COUNT parallel ADDs succeeded" "$failures failed: $(cat "$WORK"/cni-ADD-*.json | grep code | head -n 3)"; fi
distinct=$("$PODNET" allocations --data-dir "$WORK/data-1" | awk '{print $3}' | sort -u | wc -l)
if [ "$distinct" -eq "$COUNT" ]; then pass "$COUNT distinct addresses"; else fail "$COUNT distinct addresses" "$distinct"; fi
unreachable=0
for n in $(seq 1 "$COUNT"); do
  address=$(ip -n "$PREFIX-p-$n" -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}' | cut -d/ -f1)
  in_ns "$(node_ns 1)" ping -c 1 -W 1 "$address" >/dev/null 2>&1 || unreachable=$((unreachable + 1))
done
if [ "$unreachable" -eq 0 ]; then pass "all $COUNT reachable from the node"; else fail "all $COUNT reachable from the node" "$unreachable unreachable"; fi
start=$(now)
pids=()
for n in $(seq 1 "$COUNT"); do cni DEL "$n" & pids+=($!); done
failures=0
for pid in "${pids[@]}"; do wait "$pid" || failures=$((failures + 1)); done
echo "     $COUNT parallel DELs took $(seconds_since "$start")"
if [ "$failures" -eq 0 ]; then pass "$COUNT parallel DELs succeeded"; else fail "$COUNT parallel DELs succeeded" "$failures failed"; fi
left=$( { "$PODNET" allocations --data-dir "$WORK/data-1"; ip -n "$(node_ns 1)" -br link | awk '{print $1}' | grep -E '^(veth|podnet-)' || true; } )
if [ -z "$left" ]; then pass "after $COUNT DELs nothing is left"; else fail "after $COUNT DELs nothing is left" "$(echo "$left" | head -n 5)"; fi

printf '\n%d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" -eq 0 ]
