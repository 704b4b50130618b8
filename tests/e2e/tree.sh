#!/usr/bin/env bash
# Tree mode on 6 nodes with fanout 2 (source -> node1 -> node2, node3;
# source -> node4 -> node5, node6): every node ends right, the source sends
# at most fanout copies (its interface counters), a node that has the image
# stays out of the tree, and a stalled docker load on an interior node does
# not hold up its children.
. "$(dirname "$0")/lib.sh"
[ "${#NODES[@]}" -ge 6 ] || fail "tree test needs a lab of 6 nodes"
ensure_image app:1 40
ensure_image app:2 40
reset_nodes

run_ts --image app:1 --mode tree --fanout 2 --dry-run   # ships relays; sends no image
check "dry run exits 0" rc_is 0
check "dry run shows the tree: node2 under node1" grep -qE '^      node2 ' <<<"$OUT"
check "dry run loads nothing" [ "$(node_id node1 app:1)" = none ]

run_ts_counted app:1 --image app:1 --mode tree --fanout 2
check "tree run exits 0" rc_is 0
check "every node shows app:1 with the source's ID" all_nodes_have app:1
check "the source sent at most 2 copies (+2%) by its interface counters" [ "$SENT" -le $((SIZE * 2 * 102 / 100)) ]
check "the summary agrees: 2.00 x the archive" out_has "(2.00 x the"
run_ts --image app:1 --force --fanout 2 --limit-rate 400M --source-limit 4G --quiet
check "auto mode under caps: a source 10 times the relays' rate feeds 6 nodes flat, and says why" \
  grep -qE '^mode: flat, chosen by --mode auto: predicted [0-9.]+ s flat, [0-9.]+ s stripes, [0-9.]+ s tree under the caps$' <<<"$OUT"
assert_clean

# node6 already has app:2: it must be left out of the tree.
run_ts --image app:2 --mode flat --nodes node6
check "node6 preloaded with app:2" [ "$(node_id node6 app:2)" = "$(source_id app:2)" ]
run_ts --image app:2 --mode tree --fanout 2 --dry-run
check "the plan leaves node6 out of the tree" grep -qE '^  node6: skip' <<<"$OUT"
check "the tree has 5 nodes" out_has "5 node(s) load"
run_ts --image app:2 --mode tree --fanout 2
check "exits 0" rc_is 0
check "node6 was skipped and received nothing" grep -qE '^node6 .* skipped +0 B ' <<<"$OUT"
check "every node shows app:2" all_nodes_have app:2
assert_clean

# Freeze node1's dockerd (cgroup freezer) as soon as its relay starts
# spooling: its docker load stalls, but node2 and node3 read from its spool.
reset_nodes
FRZ=/sys/fs/cgroup/freezer/treesync-e2e-node1
mkdir -p "$FRZ"
# A thawed dockerd may start a process inside the cgroup while we empty it:
# move them out until none is left.
thaw() {
  echo THAWED >"$FRZ/freezer.state"
  for _ in $(seq 50); do
    for p in $(cat "$FRZ/cgroup.procs"); do echo "$p" >/sys/fs/cgroup/freezer/cgroup.procs || true; done
    rmdir "$FRZ" 2>/dev/null && return 0
    sleep 0.1
  done
  rmdir "$FRZ"
}
trap 'thaw 2>/dev/null || true' EXIT
"$LAB" exec source "$TS" --inventory "$INV" --image app:1 --mode tree --fanout 2 >"$TREESYNC_LAB_DIR/tree.out" 2>&1 &
job=$!
for i in $(seq 300); do
  ls "$TREESYNC_LAB_DIR"/hosts/node1/root/.cache/treesync/run-*/archive.spool >/dev/null 2>&1 && break
  sleep 0.05
done
t0=$(date +%s.%N)
"$LAB" exec node1 cat /run/docker.pid >"$FRZ/cgroup.procs"
echo FROZEN >"$FRZ/freezer.state"
children_done=""
for i in $(seq 600); do
  if [ "$(node_id node2 app:1)" != none ] && [ "$(node_id node3 app:1)" != none ]; then
    children_done=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}"); break
  fi
  sleep 0.1
done
echo "  node2 and node3 were loaded, verified and tagged ${children_done:-never} s after node1's dockerd froze"
check "node1's children finish while node1's docker load is frozen (within 60 s)" [ -n "$children_done" ]
check "the run is still waiting for frozen node1" kill -0 "$job"
thaw; trap - EXIT
set +e; wait "$job"; RC=$?; set -e
OUT=$(cat "$TREESYNC_LAB_DIR/tree.out"); printf '%s\n' "$OUT" | sed 's/^/  | /'
check "after the thaw the run ends with exit 0" rc_is 0
check "every node shows app:1" all_nodes_have app:1
assert_clean
done_testing
