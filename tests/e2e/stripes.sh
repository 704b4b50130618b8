#!/usr/bin/env bash
# Striped trees on 6 nodes, 2 stripes (--mode stripes --fanout 2), and 4
# (two trees short of forwarders, helped by the others): every
# node ends right while the source sends about one copy (its interface
# counters), every node receives each stripe from its own parent, auto mode
# picks stripes and says why, and a relay killed mid-stream where it forwards
# one stripe costs its children only that stripe's parent: they resume it
# where they were, from another node, and every other node ends right.
. "$(dirname "$0")/lib.sh"
[ "${#NODES[@]}" -ge 6 ] || fail "needs a lab of 6 nodes"
ensure_image app:1 40
reset_nodes

run_ts --image app:1 --mode stripes --fanout 2 --dry-run   # ships relays; sends no image
check "dry run exits 0" rc_is 0
check "dry run draws 2 striped trees" out_has "plan: stripes, 2 striped tree(s)"
check "dry run: every node has a parent per stripe" \
  [ "$(grep -cE '^      parents by stripe: [a-z0-9]+ [a-z0-9]+$' <<<"$OUT")" = 6 ]
check "dry run: the source sends 1 copy" out_has "the source sends 1 copy"

run_ts_counted app:1 --image app:1 --mode stripes --fanout 2 --json /root/report.json
check "stripes run exits 0" rc_is 0
check "every node shows app:1 with the source's ID" all_nodes_have app:1
check "the source sent at most 1.1 copies by its interface counters" [ "$SENT" -le $((SIZE * 110 / 100)) ]
check "the report says stripes, with two parents per node" \
  [ "$(report "$SRC_HOME/report.json" "(r['mode'], sorted({len(n['parent'].split(',')) for n in r['nodes']}))")" = "('stripes', [2])" ]
check "no node has the same parent for both stripes" \
  [ "$(report "$SRC_HOME/report.json" "all(len(set(n['parent'].split(','))) == 2 for n in r['nodes'])")" = True ]
# 6 nodes in 4 stripes: trees 2 and 3 have one forwarder of their own, too
# few for 5 children; a forwarder of tree 0 or 1 with upload to spare takes
# the rest, so the source still sends one copy.
reset_nodes
run_ts --image app:1 --mode stripes --fanout 4 --dry-run
check "6 nodes, 4 stripes, dry run: the source sends 1 copy" out_has "the source sends 1 copy"
check "... two nodes forward in a second, short tree" \
  [ "$(grep -cE '^      forwards: stripe [0-3] to [a-z0-9 ]+, stripe [0-3] to [a-z0-9 ]+$' <<<"$OUT")" = 2 ]
run_ts_counted app:1 --image app:1 --mode stripes --fanout 4
check "6 nodes, 4 stripes: exits 0" rc_is 0
check "... every node shows app:1 with the source's ID" all_nodes_have app:1
check "... the source sent at most 1.1 copies by its interface counters" [ "$SENT" -le $((SIZE * 110 / 100)) ]
reset_nodes
run_ts --image app:1 --fanout 2 --quiet
check "auto mode picks stripes for 6 fresh nodes and says why" \
  grep -qE '^mode: stripes, chosen by --mode auto: predicted [0-9.]+ copy-times flat, [0-9.]+ copy-times stripes, [0-9.]+ copy-times tree \(no rates known: equal links assumed\), 2 stripes; delivery took [0-9.]+ s \(with loads, verify, tags\)$' <<<"$OUT"
check "... and they all end right" all_nodes_have app:1
run_ts --image app:1 --force --fanout 2 --quiet
check "auto mode picks flat when the nodes lack only a config (chunks through relays would cost more)" \
  grep -qE '^mode: flat, chosen by --mode auto' <<<"$OUT"
run_ts --image app:1 --force --nodes 0 --quiet
check "auto mode picks flat for one node" grep -qE '^mode: flat, chosen by --mode auto' <<<"$OUT"
assert_clean

echo "# the relay forwarding stripe 0 near the top is killed mid-stream"
"$LAB" shape 100mbit
trap '"$LAB" shape off' EXIT
reset_nodes
run_ts --image app:1 --mode stripes --fanout 2 --dry-run
# The node the source feeds stripe 0 through, and its children there.
VICTIM=$(awk '/^    node/ {n=$1} /forwards: stripe 0 to/ {print n; exit}' <<<"$OUT")
KIDS=$(grep -A3 "^    $VICTIM " <<<"$OUT" | grep -oE 'forwards: stripe 0 to .*' | sed 's/forwards: stripe 0 to //')
echo "  victim $VICTIM forwards stripe 0 to: $KIDS"
[ -n "$VICTIM" ] && [ -n "$KIDS" ] || fail "the dry run shows no node forwarding stripe 0"
EVENTS="$TREESYNC_LAB_DIR/events.jsonl"
"$LAB" exec source "$TS" --inventory "$INV" --image app:1 --mode stripes --fanout 2 -v --events - \
  >"$EVENTS" 2>"$TREESYNC_LAB_DIR/bg.out" &
JOB=$!
# Once its children hold some of stripe 0 from it, and have said so (a
# progress tick a second).
wait_spool "${KIDS%% *}" $((6 << 20))
sleep 1.1
kill -KILL "$(relay_pid "$VICTIM")"
wait_ts
check "exit status 1: the victim failed" rc_is 1
check "$VICTIM failed: its relay was killed" grep -qE "^$VICTIM .* failed .*relay exited \(killed by signal KILL\)" <<<"$OUT"
for n in "${NODES[@]}"; do
  [ "$n" = "$VICTIM" ] && continue
  check "$n has app:1" [ "$(node_id "$n" app:1)" = "$(source_id app:1)" ]
done
check "--events: valid against docs/events.schema.json" valid_events "$EVENTS"
for k in $KIDS; do
  check "--events: $k re-parented stripe 0 (only) away from $VICTIM, resuming past byte 0" \
    [ "$(events "$EVENTS" "sorted({(x['stripe'], x['from'], x['reason'], x['resume_at'] > 0) for x in e if x['event'] == 'reparented' and x['node'] == '$k'})")" = "[(0, '$VICTIM', 'parent_lost', True)]" ]
done
"$LAB" shape off
trap - EXIT
assert_clean
