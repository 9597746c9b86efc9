#!/usr/bin/env bash
# make demo: a two-node cluster with two pods per node and an outside host, all in
# throwaway network namespaces. Shows `podnet diff` for one node, applies every node,
# then proves pod-to-pod across nodes and pod-to-outside (masqueraded), and removes
# everything it created, also when interrupted or when something fails.
#
#   PODNET=.build/debug/podnet bash Tests/e2e/demo.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root_tools
ANNOUNCE_CLEANUP=1

START=$(now)
STEP=0
STEPS=5
FAILED=0

step() {  # step TITLE: prints the heading of the next phase and starts its clock
  STEP=$((STEP + 1))
  PHASE_START=$(now)
  printf '\n[%d/%d] %s\n' "$STEP" "$STEPS" "$1"
}
took() { echo "      ($(seconds_since "$PHASE_START"))"; }
indent() { sed 's/^/      /'; }

# prove SOURCE_NS LABEL PROTOCOL HOST EXPECTED_ANSWER WHAT_IT_SHOWS: one line of the traffic table
prove() {
  local ns=$1 label=$2 protocol=$3 host=$4 expected=$5 meaning=$6 answer
  if answer=$(ask "$ns" "$protocol" "$host" "$ECHO_PORT" 2 2>&1) && [ "$answer" = "$expected" ]; then
    printf '      %-34s %-22s %-32s %s\n' "$label" "$protocol $host" "\"$answer\"" "$meaning"
  else
    printf '      %-34s %-22s FAILED: got "%s", wanted "%s"\n' "$label" "$protocol $host" "$answer" "$expected"
    FAILED=$((FAILED + 1))
  fi
}

echo "podnet demo: two nodes, two pods each and an outside host, in network namespaces named $PREFIX-*"

step "Cluster: namespaces, an underlay bridge, an outside host behind the underlay's router"
make_underlay
for i in 1 2; do
  make_node "$i"
  make_pod "${i}a"
  make_pod "${i}b"
  write_node_config "$WORK/node-$i.yaml" "$i" "$((3 - i))"
done
start_servers "$(pod_ns 1a)" pod-1a "$(pod_ns 1b)" pod-1b "$(pod_ns 2a)" pod-2a "$(pod_ns 2b)" pod-2b "$OUTSIDE" outside
for i in 1 2; do
  echo "      node-$i  $(node_v4 "$i") $(node_v6 "$i")   pods pod-${i}a $(pod_v4 "${i}a"), pod-${i}b $(pod_v4 "${i}b") (+ IPv6); not attached yet"
done
echo "      outside  $OUTSIDE_V4 $OUTSIDE_V6   (no route to any pod subnet)"
echo "      every pod and the outside host run an echo server on port $ECHO_PORT that answers \"NAME saw SOURCE-ADDRESS\""
took

step "podnet diff for node-1 (dry run: what apply would do)"
echo "      \$ cat node-1.yaml"
grep -v '^#' "$WORK/node-1.yaml" | indent
echo "      \$ podnet diff -f node-1.yaml --netns $(node_ns 1)"
set +e
podnet_on 1 diff >"$WORK/diff.txt" 2>&1
status=$?
set -e
indent <"$WORK/diff.txt"
echo "      exit status $status (2: changes pending)"
[ "$status" -eq 2 ] || { echo "      FAILED: expected exit status 2"; FAILED=$((FAILED + 1)); }
took

step "podnet apply on every node"
for i in 1 2; do
  t=$(now)
  podnet_on "$i" apply >"$WORK/apply-$i.txt"
  echo "      \$ podnet apply -f node-$i.yaml --netns $(node_ns "$i")   ($(seconds_since "$t")): $(tail -n 1 "$WORK/apply-$i.txt")"
done
for i in 1 2; do
  echo "      node-$i: cbr0's IPv6 link-local address passed duplicate address detection after $(wait_for_dad "$(node_ns "$i")")"
done
took

step "Traffic: each answer is the address the receiver saw"
prove "$(pod_ns 1a)" "pod-1a (node-1) -> pod-2b (node-2)" tcp "$(pod_v4 2b)" "pod-2b saw $(pod_v4 1a)" "pod address kept"
prove "$(pod_ns 1a)" "pod-1a (node-1) -> pod-2b (node-2)" udp "$(pod_v6 2b)" "pod-2b saw $(pod_v6 1a)" "pod address kept"
prove "$(pod_ns 2a)" "pod-2a (node-2) -> pod-1b (node-1)" tcp "$(pod_v6 1b)" "pod-1b saw $(pod_v6 2a)" "pod address kept"
prove "$(pod_ns 1a)" "pod-1a (node-1) -> outside" tcp "$OUTSIDE_V4" "outside saw $(node_v4 1)" "masqueraded to node-1"
prove "$(pod_ns 2b)" "pod-2b (node-2) -> outside" tcp "$OUTSIDE_V6" "outside saw $(node_v6 2)" "masqueraded to node-2"
took

step "podnet diff again on every node: nothing left to do"
for i in 1 2; do
  set +e
  podnet_on "$i" diff >"$WORK/rediff-$i.txt" 2>&1
  status=$?
  set -e
  echo "      node-$i: $(tail -n 1 "$WORK/rediff-$i.txt") (exit status $status)"
  [ "$status" -eq 0 ] || { echo "      FAILED: expected exit status 0"; FAILED=$((FAILED + 1)); }
done
took

echo
if [ "$FAILED" -eq 0 ]; then
  echo "Demo finished in $(seconds_since "$START"); removing the namespaces."
else
  echo "Demo FAILED ($FAILED problems) after $(seconds_since "$START"); removing the namespaces."
  exit 1
fi
