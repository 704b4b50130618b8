#!/usr/bin/env bash
# The spool window (--spool-window): a node keeps at most the window of the
# stream on disk besides its runtime's own copy, measured by a sampler of
# every node's treesync folder while a 200 MiB layer goes through a tree;
# and a child that falls further behind its parent than the window is fed
# by the source from where it is.
. "$(dirname "$0")/lib.sh"
[ "${#NODES[@]}" -ge 6 ] || fail "needs a lab of 6 nodes"
ensure_image win:1 200
ensure_image win:2 40
trap '"$LAB" shape off' EXIT
WINDOW=$((24 << 20))
SLACK=$((64 << 20))

# Samples the bytes on disk (allocated blocks) under each node's treesync
# run folders every 0.1 s into $TREESYNC_LAB_DIR/disk.samples.
start_sampler() {
  : >"$TREESYNC_LAB_DIR/disk.samples"
  (
    while :; do
      for n in "${NODES[@]}"; do
        b=$({ du -sB1 "$TREESYNC_LAB_DIR"/hosts/"$n"/root/.cache/treesync/run-* 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}')
        echo "$n $b"
      done >>"$TREESYNC_LAB_DIR/disk.samples"
      sleep 0.1
    done
  ) &
  SAMPLER=$!
}
stop_sampler() { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; }
peak() { awk -v n="$1" '$1 == n && $2 > m {m = $2} END {print m + 0}' "$TREESYNC_LAB_DIR/disk.samples"; }

echo "# a 200 MiB layer through a tree (fanout 2) with a 24 MiB window"
reset_nodes
run_ts --image win:1 --dry-run >/dev/null  # relays shipped, layers cached: the run below is the stream
start_sampler
run_ts --image win:1 --mode tree --fanout 2 --spool-window 24M
stop_sampler
check "exit status 0" rc_is 0
check "every node shows win:1" all_nodes_have win:1
highest=0
for n in "${NODES[@]}"; do
  p=$(peak "$n")
  echo "  $n: at most $((p >> 20)) MiB on disk besides its runtime"
  check "$n kept at most the window + 64 MiB" [ "$p" -le $((WINDOW + SLACK)) ]
  [ "$p" -gt "$highest" ] && highest=$p
done
# The sampler saw the spools fill: without the window each would have grown
# to the whole 200 MiB stream, far past the bound above.
check "the sampler saw a spool near the window ($((highest >> 20)) MiB)" [ "$highest" -ge $((WINDOW / 2)) ]
assert_clean

# Links at 400 Mbit/s so that node2 holds node1 back only well after node3
# began holding node2 back: node2 gives node3 up first (5 s), and node1 never
# has to give up on node2.
echo "# node3 behind a 20 Mbit/s link in a chain node1 -> node2 -> node3: it falls behind node2's window"
reset_nodes
run_ts --image win:2 --nodes node1,node2,node3 --dry-run >/dev/null
"$LAB" shape 400mbit
"$LAB" shape 20mbit node3
run_ts --image win:2 --nodes node1,node2,node3 --mode tree --fanout 1 --spool-window 16M -v --events /root/window.events
"$LAB" shape off
EVENTS="$SRC_HOME/window.events"
check "exit status 0" rc_is 0
check "node3 moved to the source once it fell behind node2's window" \
  grep -qE 'node3: fell more than the spool window \(16\.0 MiB\) behind node2; resuming from the source at byte [1-9][0-9]*' <<<"$OUT"
check "node2 said why it stopped forwarding" grep -qE "node2: forwarding to node3 failed: .*left this node's spool window" <<<"$OUT"
check "node2 itself stayed under node1" bash -c '! grep -q "node2: fell more than" <<<"$1"' _ "$OUT"
check "--events: node3 re-parented from node2 to the source, behind the window" \
  [ "$(events "$EVENTS" "[(x['from'], x['to'], x['reason']) for x in e if x['event'] == 'reparented']")" = "[('node2', 'source', 'behind_window')]" ]
check "--events: every line valid against docs/events.schema.json" valid_events "$EVENTS"
for n in node1 node2 node3; do check "$n has win:2" [ "$(node_id "$n" win:2)" = "$(source_id win:2)" ]; done
assert_clean

echo "# node4's spool folder has 100 MiB: the whole 200 MiB stream does not fit, a 16 MiB window does"
# (the probe's space check: the spool needs the window, not the stream)
reset_nodes
"$LAB" exec node4 mount -t tmpfs -o size=100m tmpfs /root/.cache/treesync
trap '"$LAB" shape off; "$LAB" exec node4 umount /root/.cache/treesync 2>/dev/null || true' EXIT
run_ts --image win:1 --nodes node4 --spool-window 0
check "exit status 1" rc_is 1
check "node4 failed at the space check, naming the spool's need and the fix" \
  grep -qE '^node4 .* failed .*needs 201\.0 MiB free in ~/.cache/treesync for the spool, has (9[0-9]|100)\.[0-9] MiB; .*smaller --spool-window' <<<"$OUT"
check "nothing was sent to node4" [ "$(node_id node4 win:1)" = none ]
run_ts --image win:1 --nodes node4 --spool-window 16M
check "with a 16 MiB window: exit status 0" rc_is 0
check "node4 has win:1" [ "$(node_id node4 win:1)" = "$(source_id win:1)" ]
"$LAB" exec node4 umount /root/.cache/treesync
assert_clean
done_testing
