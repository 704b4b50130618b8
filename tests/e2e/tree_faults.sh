#!/usr/bin/env bash
# Faults during a tree transfer on 6 nodes, fanout 2 (source -> node1 ->
# node2, node3; source -> node4 -> node5, node6), links shaped so the stream
# lasts several seconds: an interior relay killed, a leaf killed, an interior
# node's network cut, a parent that stops reaching its child, a corrupted
# chunk, a connection without the edge key. The first also follows the
# run through --events - (every line valid against docs/events.schema.json,
# the re-parent in it) and --metrics (read by Prometheus' text parser).
. "$(dirname "$0")/lib.sh"
[ "${#NODES[@]}" -ge 6 ] || fail "needs a lab of 6 nodes"
ensure_image app:1 40
"$LAB" shape 100mbit
trap '"$LAB" shape off; "$LAB" exec node4 ip link set eth0 up 2>/dev/null || true' EXIT
run_ts --image app:1 --mode tree --fanout 2 --dry-run >/dev/null   # relays shipped, layers cached
SIZE=$(bundle_bytes app:1)

echo "# an interior relay (node1) is killed mid-stream"
reset_nodes
EVENTS="$TREESYNC_LAB_DIR/events.jsonl" PROM="$SRC_HOME/treesync.prom"
rm -f "$PROM"
# Events on stdout, everything else on stderr (bg.out, as start_ts keeps it).
"$LAB" exec source "$TS" --inventory "$INV" --image app:1 --mode tree --fanout 2 -v \
  --events - --json /root/report.json --metrics /root/treesync.prom >"$EVENTS" 2>"$TREESYNC_LAB_DIR/bg.out" &
JOB=$!
wait_spool node2 $((8 << 20))
for i in $(seq 40); do grep -q '"event":"receiving","node":"node2"' "$EVENTS" && break; sleep 0.05; done
check "events arrive as the run goes: node2 is receiving, mid-stream" \
  grep -q '"event":"receiving","node":"node2"' "$EVENTS"
kill -KILL "$(relay_pid node1)"
wait_ts
sed 's/^/  events | /' "$EVENTS"
check "exit status 1" rc_is 1
check "node1 failed: its relay was killed" grep -qE '^node1 .* failed .*relay exited \(killed by signal KILL\)' <<<"$OUT"
for n in node2 node3 node4 node5 node6; do check "$n has app:1" [ "$(node_id "$n" app:1)" = "$(source_id app:1)" ]; done
for n in node2 node3; do
  at=$(grep -oE "$n: lost its parent node1; resuming from [a-z0-9 ]+ at byte [0-9]+" <<<"$OUT" | grep -oE '[0-9]+$' || echo 0)
  check "$n resumed at byte $at, not from zero" [ "$at" -gt 0 ]
  wire=$(grep -oE "$n: loaded and verified \([0-9]+ bytes over the wire\)" <<<"$OUT" | grep -oE '\([0-9]+' | tr -d '(')
  echo "  $n took in $wire bytes over the wire for a $SIZE-byte stream"
  check "$n received well under two copies in all (< 1.2 x)" [ "$wire" -lt $((SIZE * 12 / 10)) ]
  check "--events: $n re-parented away from node1 (parent lost), resuming at byte $at" \
    [ "$(events "$EVENTS" "[(x['from'], x['reason'], x['resume_at']) for x in e if x['event'] == 'reparented' and x['node'] == '$n']")" = "[('node1', 'parent_lost', $at)]" ]
done
check "--events: stdout held only events, each valid against docs/events.schema.json" valid_events "$EVENTS"
check "--events: run_started first, run_finished last" \
  [ "$(events "$EVENTS" "(e[0]['event'], e[-1]['event'])")" = "('run_started', 'run_finished')" ]
check "--events: node1 and only node1 failed, its relay killed" \
  [ "$(events "$EVENTS" "[(x['node'], 'killed by signal KILL' in x['reason']) for x in e if x['event'] == 'failed']")" = "[('node1', True)]" ]
check "--events: the five others were verified, then tagged" \
  [ "$(events "$EVENTS" "sorted(x['node'] for x in e if x['event'] == 'tagged' and any(v['event'] == 'verified' and v['node'] == x['node'] and v['elapsed'] <= x['elapsed'] for v in e))")" = "['node2', 'node3', 'node4', 'node5', 'node6']" ]
check "--events: the plan put node2 and node3 under node1" \
  [ "$(events "$EVENTS" "[(x['parents']['node2'], x['parents']['node3']) for x in e if x['event'] == 'planned']")" = "[('node1', 'node1')]" ]
check "--events: node2 had several receiving events" \
  [ "$(events "$EVENTS" "len([x for x in e if x['event'] == 'receiving' and x['node'] == 'node2']) >= 2")" = True ]
check "--events: a receiving event per node per relay report (a second), never two within 0.8 s" \
  [ "$(events "$EVENTS" "all(b - a >= 0.79 for t in [[x['elapsed'] for x in e if x['event'] == 'receiving' and x['node'] == n] for n in {x['node'] for x in e}] for a, b in zip(t, t[1:]))")" = True ]
check "--events: run_finished counts 5 loaded, 1 failed, exit 1" \
  [ "$(events "$EVENTS" "(e[-1]['outcomes']['loaded'], e[-1]['outcomes']['failed'], e[-1]['exit_status'])")" = "(5, 1, 1)" ]
REPORT_BYTES=$(report "$SRC_HOME/report.json" "r['source_bytes']")
check "--events: run_finished's source bytes are the report's ($REPORT_BYTES)" \
  [ "$(events "$EVENTS" "e[-1]['source_bytes']")" = "$REPORT_BYTES" ]
check "--metrics: 5 nodes loaded, as the test expects" [ "$(metric "$PROM" treesync_nodes outcome=loaded)" = 5 ]
check "--metrics: 1 failed, 0 tagged, 0 skipped (zeros present)" \
  [ "$(metric "$PROM" treesync_nodes outcome=failed) $(metric "$PROM" treesync_nodes outcome=tagged) $(metric "$PROM" treesync_nodes outcome=skipped)" = "1 0 0" ]
check "the source sent bytes" [ "$REPORT_BYTES" -gt 0 ]
check "--metrics: source bytes equal the --json report's" [ "$(metric "$PROM" treesync_source_sent_bytes)" = "$REPORT_BYTES" ]
check "--metrics: the run failed (last_run_success 0, exit status 1)" \
  [ "$(metric "$PROM" treesync_last_run_success) $(metric "$PROM" treesync_run_exit_status)" = "0 1" ]
check "--metrics: no temp file left beside it" [ ! -e "$PROM.tmp" ]
COST=$(report "$SRC_HOME/report.json" "' '.join(str(r['source_cost'][k]) for k in ('peak_threads', 'peak_fds'))")
check "the source's cost is plausible (threads and fds, in the report: $COST)" \
  [ "$(report "$SRC_HOME/report.json" "(lambda c: c['cpu_seconds'] > 0 and c['peak_rss_bytes'] > 2**20
                                        and c['peak_threads'] >= 2 and c['peak_fds'] >= 3)(r['source_cost'])")" = True ]
check "--metrics: the source's peak threads and fds equal the --json report's" \
  [ "$(metric "$PROM" treesync_source_peak_threads) $(metric "$PROM" treesync_source_peak_fds)" = "$COST" ]
check "the summary says the source's cost in one line" \
  grep -qE '^source: [0-9.]+ s CPU, [0-9.]+ MiB peak RSS, [0-9]+ threads, [0-9]+ open files at peak$' <<<"$OUT"
assert_clean

echo "# a leaf relay (node6) is killed: nobody else is affected"
reset_nodes
start_ts --image app:1 --mode tree --fanout 2
wait_spool node6 $((8 << 20))
kill -KILL "$(relay_pid node6)"
wait_ts
check "exit status 1" rc_is 1
check "node6 failed" grep -qE '^node6 .* failed ' <<<"$OUT"
check "the other five loaded" out_has "6 node(s): 5 loaded, 0 tagged, 0 skipped, 1 failed"
check "nobody was re-parented" bash -c '! grep -q "lost its parent" <<<"$1"' _ "$OUT"
assert_clean

echo "# node4's network is cut mid-stream: a stall, then its children move"
reset_nodes
start_ts --image app:1 --mode tree --fanout 2 --stall-timeout 4
wait_spool node5 $((8 << 20))
"$LAB" exec node4 ip link set eth0 down
wait_ts
"$LAB" exec node4 ip link set eth0 up
check "exit status 1" rc_is 1
check "node4 failed for silence, naming the timeout" grep -qE '^node4 .* failed .*no word from the relay for 4 s' <<<"$OUT"
check "node5 and node6 were re-parented" [ "$(grep -c 'lost its parent node4' <<<"$OUT")" = 2 ]
for n in node1 node2 node3 node5 node6; do check "$n has app:1" [ "$(node_id "$n" app:1)" = "$(source_id app:1)" ]; done
sleep 3  # node4's sshd notices the dead connection once the link is back
assert_clean

echo "# node2 stops hearing from its parent node1 (a firewall between them): it moves to the source"
reset_nodes
NODE1_IP=$("$LAB" ip node1)
start_ts --image app:1 --mode tree --fanout 2 --stall-timeout 4 -v
wait_spool node2 $((4 << 20))
"$LAB" exec node2 iptables -A INPUT -s "$NODE1_IP" -j DROP
trap '"$LAB" shape off; "$LAB" exec node2 iptables -D INPUT -s "$NODE1_IP" -j DROP 2>/dev/null || true' EXIT
wait_ts
"$LAB" exec node2 iptables -D INPUT -s "$NODE1_IP" -j DROP
check "exit status 0: nobody failed" rc_is 0
check "node2 was moved to the source, not failed" \
  grep -qE 'node2: no progress for 4 s from node1; resuming from the source at byte [1-9][0-9]*' <<<"$OUT"
check "node2's parent is the source in the summary's view" grep -qE 'node2 .* loaded' <<<"$OUT"
check "every node shows app:1" all_nodes_have app:1
assert_clean

echo "# a chunk corrupted in transit is caught by its XXH3 and sent again"
reset_nodes
run_ts_corrupting 3000000 --image app:1 --mode tree --fanout 2
check "exit status 0" rc_is 0
check "the receiver caught it" grep -qE 'chunk at byte [0-9]+ from 198.18.0.10 failed its XXH3 check; asked for it again' <<<"$OUT"
check "every node shows app:1" all_nodes_have app:1
assert_clean

echo "# a connection without the edge key is refused and logged"
reset_nodes
start_ts --image app:1 --mode tree --fanout 2 -v
for i in $(seq 200); do grep -q 'node1: listening on' "$TREESYNC_LAB_DIR/bg.out" && break; sleep 0.05; done
endpoint=$(grep -oE 'node1: listening on [0-9.]+:[0-9]+' "$TREESYNC_LAB_DIR/bg.out" | awk '{print $4}')
if "$LAB" exec source python3 - "${endpoint%:*}" "${endpoint#*:}" <<'PY'
import json, socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.settimeout(5)
head = s.recv(5)
assert head[:1] == b"M", "the relay did not start with a challenge"
challenge = json.loads(s.recv(struct.unpack(">I", head[1:5])[0]))
assert challenge["type"] == "challenge", challenge
body = json.dumps({"type": "answer", "nonce": "00" * 16, "mac": "0" * 64}).encode()
s.sendall(b"M" + struct.pack(">I", len(body)) + body)
assert s.recv(100) == b"", "the relay accepted an answer without the edge key"
PY
then ok "the intruder's connection was closed without an accept"; else fail "the relay accepted a wrong key"; fi
wait_ts
check "exit status 0" rc_is 0
check "treesync logged the refusal" \
  grep -qE 'node1: refused a connection from 198.18.0.10: did not prove the key of an edge the source assigned' <<<"$OUT"
check "every node shows app:1" all_nodes_have app:1
assert_clean
done_testing
