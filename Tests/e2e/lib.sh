# Shared by demo.sh and e2e.sh: a throwaway cluster in network namespaces.
#
# Topology (every namespace named $PREFIX-..., created here and deleted by cleanup):
#
#   $PREFIX-node-N  eth0 198.18.0.1N/24 2001:db8::1N/64 ─┐
#                                                        ├─ br0 in $PREFIX-underlay (198.18.0.1, 2001:db8::1),
#   ...                                                  │  which also routes to the outside network:
#   $PREFIX-outside eth0 203.0.113.10/24 2001:db8:ff::10/64 ── out0 203.0.113.1, 2001:db8:ff::1
#
#   pods: $PREFIX-pod-Nx, empty namespaces that podnet attaches to node N's cbr0,
#   addressed 10.244.N.1x and fd00:10:244:N::1x (x = a, b: 10, 11).
#
# Nodes reach each other's pod subnets only through podnet's routes (they have no
# default route), and the underlay router knows no pod subnet unless a script adds
# one, so a pod reaches the outside host only when its node masquerades.
#
# Nothing here touches the root namespace's networking.

set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)
PODNET=${PODNET:-$REPO_DIR/.build/debug/podnet}
case $PODNET in /*) ;; *) PODNET=$REPO_DIR/$PODNET ;; esac
ECHO_PY=$E2E_DIR/echo.py

# Short and unique per run, so that parallel runs and leftovers never collide.
PREFIX=${PREFIX:-pe$(printf '%04x' $((RANDOM ^ ($$ & 0xffff))))}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/podnet-$PREFIX.XXXXXX")
# podnet's per-namespace locks and the xtables lock (podnet and iptables-legacy both
# honour XTABLES_LOCKFILE) live in this run's directory, not in /run.
export PODNET_LOCK_DIR=$WORK/locks XTABLES_LOCKFILE=$WORK/xtables.lock
mkdir -p "$PODNET_LOCK_DIR"

NAMESPACES=()   # created by this run, deleted by cleanup
SERVER_PIDS=()  # echo servers started by this run, killed by cleanup
UNDERLAY=$PREFIX-underlay
OUTSIDE=$PREFIX-outside
OUTSIDE_V4=203.0.113.10
OUTSIDE_V6=2001:db8:ff::10
ECHO_PORT=8080

require_root_tools() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: needs root (it creates network namespaces)" >&2
    exit 1
  fi
  local tool
  for tool in ip iptables-legacy ip6tables-legacy python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing (make deps installs it)" >&2; exit 1; }
  done
  [ -x "$PODNET" ] || { echo "error: no podnet binary at $PODNET (build it, or set PODNET=)" >&2; exit 1; }
}

# ---------------------------------------------------------------- cleanup

# ANNOUNCE_CLEANUP=1: say what was removed and how long it took.
cleanup() {
  local status=$?
  set +e
  # A second ^C must not cut the cleanup short.
  trap '' INT TERM
  trap - EXIT
  local pid ns pids start
  start=$(now)
  # Our servers, and anything else still running in our namespaces (it would keep a
  # deleted namespace alive).
  pids=($( { printf '%s\n' "${SERVER_PIDS[@]}"
             for ns in "${NAMESPACES[@]}"; do ip netns pids "$ns" 2>/dev/null; done; } | sort -u))
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  # Deleting a node's namespace takes its bridge, veths, routes and rules with it.
  for ns in "${NAMESPACES[@]}"; do ip netns delete "$ns" 2>/dev/null; done
  rm -rf "$WORK"
  if [ -n "${ANNOUNCE_CLEANUP:-}" ]; then
    [ "$status" -eq 0 ] || echo "Stopped with exit status $status."
    echo "Removed ${#NAMESPACES[@]} namespaces and ${#pids[@]} processes ($(seconds_since "$start"))."
  fi
  local left
  left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX-" || true)
  if [ -n "$left" ]; then
    echo "cleanup: could not delete namespaces: $left" >&2
    [ "$status" -eq 0 ] && status=1
  fi
  exit "$status"
}

on_signal() {
  echo "interrupted: cleaning up" >&2
  exit 130
}

trap cleanup EXIT
trap on_signal INT TERM

# ---------------------------------------------------------------- namespaces

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

add_namespace() {
  ip netns add "$1"
  NAMESPACES+=("$1")
  ip -n "$1" link set lo up
}

node_ns() { echo "$PREFIX-node-$1"; }
pod_ns() { echo "$PREFIX-pod-$1"; }        # $1: 1a, 2b, ...
node_v4() { echo "198.18.0.1$1"; }
node_v6() { echo "2001:db8::1$1"; }
pod_v4() { echo "10.244.${1%?}.$(pod_host "$1")"; }
pod_v6() { echo "fd00:10:244:${1%?}::$(pod_host "$1")"; }
pod_host() { case ${1: -1} in a) echo 10 ;; b) echo 11 ;; *) echo "bad pod $1" >&2; return 1 ;; esac; }

# The underlay: a bridge for the nodes, and a route to the outside host's network.
make_underlay() {
  add_namespace "$UNDERLAY"
  ip -n "$UNDERLAY" link add br0 type bridge mcast_snooping 0
  no_dad "$UNDERLAY" br0
  ip -n "$UNDERLAY" addr add 198.18.0.1/24 dev br0
  ip -n "$UNDERLAY" addr add 2001:db8::1/64 dev br0 nodad
  ip -n "$UNDERLAY" link set br0 up
  in_ns "$UNDERLAY" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

  add_namespace "$OUTSIDE"
  ip -n "$OUTSIDE" link add eth0 type veth peer name out0 netns "$UNDERLAY"
  no_dad "$UNDERLAY" out0
  no_dad "$OUTSIDE" eth0
  ip -n "$UNDERLAY" addr add 203.0.113.1/24 dev out0
  ip -n "$UNDERLAY" addr add 2001:db8:ff::1/64 dev out0 nodad
  ip -n "$UNDERLAY" link set out0 up
  ip -n "$OUTSIDE" addr add "$OUTSIDE_V4/24" dev eth0
  ip -n "$OUTSIDE" addr add "$OUTSIDE_V6/64" dev eth0 nodad
  ip -n "$OUTSIDE" link set eth0 up
  ip -n "$OUTSIDE" route add default via 203.0.113.1
  ip -n "$OUTSIDE" -6 route add default via 2001:db8:ff::1
}

# The script's own links skip IPv6 duplicate address detection altogether: a router
# cannot resolve neighbours for forwarded packets until its link-local address has
# passed DAD, which would make the first second of traffic flaky.
no_dad() { in_ns "$1" sysctl -qw "net.ipv6.conf.$2.accept_dad=0"; }

# wait_for_dad NS: waits (up to 5 s) until NS has no tentative IPv6 address, as after
# podnet has created cbr0 (its link-local address goes through DAD). Prints the wait.
wait_for_dad() {
  local ns=$1 start tries=0
  start=$(now)
  while [ -n "$(ip -n "$ns" -6 addr show tentative)" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then echo "error: tentative IPv6 addresses in $ns after 5s" >&2; return 1; fi
    sleep 0.05
  done
  seconds_since "$start"
}

# A node: eth0 on the underlay bridge, a route to the outside network, nothing else.
make_node() {
  local i=$1 ns
  ns=$(node_ns "$i")
  add_namespace "$ns"
  ip -n "$ns" link add eth0 type veth peer name "node$i" netns "$UNDERLAY"
  ip -n "$UNDERLAY" link set "node$i" master br0 up
  no_dad "$ns" eth0
  ip -n "$ns" addr add "$(node_v4 "$i")/24" dev eth0
  ip -n "$ns" addr add "$(node_v6 "$i")/64" dev eth0 nodad
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add 203.0.113.0/24 via 198.18.0.1
  ip -n "$ns" -6 route add 2001:db8:ff::/64 via 2001:db8::1
}

# A pod: an empty namespace; podnet gives it eth0, addresses and default routes.
make_pod() { add_namespace "$(pod_ns "$1")"; }

# ---------------------------------------------------------------- configs

# write_node_config FILE NODE "PEERS" [EXTRA_YAML]: node NODE's config, peering with
# the nodes listed in PEERS ("2 3"), its two pods attached by podnet. EXTRA_YAML goes
# right after cluster.podCIDRs: indented, it adds to cluster; unindented, it adds
# top-level keys.
write_node_config() {
  local file=$1 i=$2 peers=$3 extra=${4:-} j x
  {
    echo "# node-$i of a podnet e2e cluster (generated by Tests/e2e/lib.sh)"
    echo "node:"
    echo "  name: node-$i"
    echo "  podCIDRs: [10.244.$i.0/24, \"fd00:10:244:$i::/64\"]"
    echo "cluster:"
    echo "  podCIDRs: [10.244.0.0/16, \"fd00:10:244::/56\"]"
    printf '%s' "$extra"
    echo "peers:"
    for j in $peers; do
      echo "  - name: node-$j"
      echo "    nodeIPs: [$(node_v4 "$j"), \"$(node_v6 "$j")\"]"
      echo "    podCIDRs: [10.244.$j.0/24, \"fd00:10:244:$j::/64\"]"
    done
    echo "pods:"
    for x in a b; do
      echo "  - name: pod-$i$x"
      echo "    netns: $(pod_ns "$i$x")"
      echo "    ips: [$(pod_v4 "$i$x"), \"$(pod_v6 "$i$x")\"]"
    done
  } >"$file"
}

# podnet NODE SUBCOMMAND [ARGS]: podnet acting on node NODE with its config.
podnet_on() {
  local i=$1 command=$2; shift 2
  "$PODNET" "$command" -f "$WORK/node-$i.yaml" --netns "$(node_ns "$i")" "$@"
}

# ---------------------------------------------------------------- traffic

# start_servers NS NAME [NS NAME ...]: an echo server on port $ECHO_PORT (tcp and
# udp) in each NS, answering as NAME; returns once all listen.
start_servers() {
  local names=() ns name
  while [ $# -gt 0 ]; do
    ns=$1 name=$2; shift 2
    start_server "$ns" "$name" "$ECHO_PORT"
    names+=("$name")
  done
  for name in "${names[@]}"; do wait_for_server "$name"; done
}

# start_server NS NAME PORT [ADDRESS]: one echo server, on ADDRESS only if given;
# $WORK/NAME.log records every peer that reached it.
start_server() {
  local ns=$1 name=$2 port=$3 address=${4:-}
  # `ip netns exec` execs the command, so $! is the server itself.
  ip netns exec "$ns" python3 "$ECHO_PY" serve "$name" "$port" "$WORK/$name.ready" ${address:+"$address"} \
    >"$WORK/$name.log" 2>&1 &
  SERVER_PIDS+=($!)
}

wait_for_server() {
  local name=$1 tries=0
  until [ -e "$WORK/$name.ready" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 200 ]; then echo "error: echo server $name did not start: $(cat "$WORK/$name.log")" >&2; return 1; fi
    sleep 0.05
  done
}

# ask NS tcp|udp HOST [PORT] [TIMEOUT]: prints the server's "NAME saw PEER" line.
ask() {
  local ns=$1 protocol=$2 host=$3 port=${4:-$ECHO_PORT} timeout=${5:-2}
  in_ns "$ns" python3 "$ECHO_PY" ask "$protocol" "$host" "$port" "$timeout"
}

# ---------------------------------------------------------------- checks

# One PASS/FAIL line per check, counted for the closing "N passed, M failed" line.
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1: $2"; }
section() { printf '\n== %s\n' "$1"; }

# expect_answer CHECK NS PROTOCOL HOST PORT EXPECTED: the server's answer is EXPECTED
# ("NAME saw SOURCE"), i.e. the right server answered and saw the right source, within
# $ANSWER_TIMEOUT seconds (default 2).
expect_answer() {
  local check=$1 ns=$2 protocol=$3 host=$4 port=$5 expected=$6 answer
  if ! answer=$(ask "$ns" "$protocol" "$host" "$port" "${ANSWER_TIMEOUT:-2}" 2>&1); then
    fail "$check" "$answer"
  elif [ "$answer" != "$expected" ]; then
    fail "$check" "answer \"$answer\", expected \"$expected\""
  else
    pass "$check ($answer)"
  fi
}

# expect_no_answer CHECK NS PROTOCOL HOST PORT: nothing answers within a second.
expect_no_answer() {
  local check=$1 ns=$2 protocol=$3 host=$4 port=$5 answer
  if answer=$(ask "$ns" "$protocol" "$host" "$port" 1 2>&1); then
    fail "$check" "expected no answer, got \"$answer\""
  else
    pass "$check (no answer)"
  fi
}

# ---------------------------------------------------------------- time

now() { echo "$EPOCHREALTIME"; }
# seconds_since START: "0.42s"
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2fs", b - a }'; }
