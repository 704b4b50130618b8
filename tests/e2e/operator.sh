#!/usr/bin/env bash
# What an operator sees: live progress under a terminal, plain lines without
# one, --quiet, the --json report (validated against docs/report.schema.json),
# `treesync status`, --log-file, --events on an update and on status.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 30
ensure_image web:1 10
ensure_image prog:1 60
reset_nodes
"$LAB" shape 100mbit
trap '"$LAB" shape off' EXIT

echo "# under a terminal: a live block redrawn in place, then the summary"
"$LAB" exec source script -qfec "$TS --inventory $INV --image app:1 --nodes 0-1 --mode flat" /dev/null \
  >"$TREESYNC_LAB_DIR/tty.out" 2>&1 || true
tr -d '\r' <"$TREESYNC_LAB_DIR/tty.out" >"$TREESYNC_LAB_DIR/tty.txt"
check "the display moves the cursor up to redraw" grep -q $'\x1b\\[[0-9]*A' "$TREESYNC_LAB_DIR/tty.txt"
check "it shows a node line with its state" grep -qE 'node1 +(receiving|loading|verifying|done) ' "$TREESYNC_LAB_DIR/tty.txt"
check "it shows a total line with a rate" grep -qE 'total: [0-9]+/2 done, 0 failed, .*/s' "$TREESYNC_LAB_DIR/tty.txt"
check "it ends with the summary" bash -c 'tail -8 "$1" | grep -q "2 node(s): 2 loaded"' _ "$TREESYNC_LAB_DIR/tty.txt"
check "which says where the nodes' relays came from" bash -c 'tail -8 "$1" | grep -qE "^relays: [0-2] sent by the source \(.*\), [0-2] lent by other nodes, [0-2] cached$"' _ "$TREESYNC_LAB_DIR/tty.txt"
check "whose last line is what the run cost the source" \
  bash -c 'tail -1 "$1" | grep -qE "^source: [0-9.]+ s CPU, .* open files at peak$"' _ "$TREESYNC_LAB_DIR/tty.txt"
check "info logs stay out of the live display" bash -c '! grep -q " info " "$1"' _ "$TREESYNC_LAB_DIR/tty.txt"

echo "# without a terminal: timestamped progress lines every 5 s, no escape codes"
reset_nodes
run_ts --image prog:1 --nodes 0-1 --mode flat
check "exit 0" rc_is 0
check "at least two plain progress lines (the run takes over 5 s)" \
  [ "$(grep -cE '^[0-9]{2}:[0-9]{2}:[0-9]{2} progress: [0-9]/2 done, 0 failed, .* received' <<<"$OUT")" -ge 2 ]
check "no escape codes at all" bash -c '! grep -q $'"'"'\x1b'"'"' <<<"$1"' _ "$OUT"

echo "# --quiet: the summary and nothing else"
reset_nodes
run_ts --image app:1 --nodes 0-1 --mode flat --quiet
check "exit 0" rc_is 0
check "no log or progress lines" bash -c '! grep -qE " info |progress:" <<<"$1"' _ "$OUT"
check "the summary is there" out_has "2 node(s): 2 loaded"
"$LAB" shape off

echo "# --json: a report that follows the schema"
reset_nodes
run_ts --images app:1 web:1 --mode tree --fanout 2 --json /root/report.json --log-file /root/debug.log
check "exit 0" rc_is 0
check "the report validates against docs/report.schema.json" valid_report "$SRC_HOME/report.json"
report() { /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$SRC_HOME/report.json"; }
check "it lists every node as loaded" [ "$(report "sum(n['outcome'] == 'loaded' for n in r['nodes'])")" = "${#NODES[@]}" ]
check "it records the source's image IDs" [ "$(report "[i['id'] for i in r['images'] if i['ref'] == 'app:1'][0]")" = "$(source_id app:1)" ]
check "it records tree mode and 2 source copies" [ "$(report "(r['mode'], r['source_bytes'] == 2 * r['archive']['bytes'])")" = "('tree', True)" ]
check "every node has a parent" [ "$(report "all(n['parent'] for n in r['nodes'])")" = True ]
check "the log file holds the debug log" grep -q ' debug ' "$SRC_HOME/debug.log"

run_ts --image app:1 --json - --quiet
check "--json - exits 0" rc_is 0
"$LAB" exec source "$TS" --inventory "$INV" --image app:1 --json - --quiet 2>/dev/null >"$SRC_HOME/stdout.json"
check "--json - leaves stdout pure JSON" valid_report "$SRC_HOME/stdout.json"

echo "# status: a node without the image, another without a tag"
"$LAB" exec node2 docker rmi web:1 >/dev/null
"$LAB" exec node3 docker tag web:1 keep:1
"$LAB" exec node3 docker rmi web:1 >/dev/null
run_ts status --images app:1 web:1 --json /root/status.json
check "status exits 1 when something is missing" rc_is 1
check "node2 misses web:1" grep -qE '^node2 .*present +missing' <<<"$OUT"
check "node3 lacks only the tag" grep -qE '^node3 .*present +tag missing' <<<"$OUT"
check "node1 has both, with its Docker version" grep -qE '^node1 .*20\.10\.[0-9]+.* present +present' <<<"$OUT"
check "the status report validates" valid_report "$SRC_HOME/status.json"
check "it says the same" [ "$(/usr/bin/python3 -c "import json; r=json.load(open('$SRC_HOME/status.json')); print(r['nodes'][2]['images']['web:1'])")" = "tag missing" ]
check "status sent nothing: node2 still misses web:1" [ "$(node_id node2 web:1)" = none ]

echo "# --events on an update: node2 loads, node3 only tags, the others skip"
run_ts --images app:1 web:1 --events /root/update.jsonl
EV="$SRC_HOME/update.jsonl"
check "exit 0" rc_is 0
check "the events are valid against docs/events.schema.json" valid_events "$EV"
check "the probe's decisions: node2 load, node3 tag, node1 skip" \
  [ "$(events "$EV" "[x['action'] for n in ('node2', 'node3', 'node1') for x in e if x['event'] == 'probed' and x['node'] == n]")" = "['load', 'tag', 'skip']" ]
check "node2: loaded, verified, tagged web:1, in that order" \
  [ "$(events "$EV" "[x['event'] for x in e if x['node'] == 'node2' and x['event'] in ('loaded', 'verified', 'tagged')]")" = "['loaded', 'verified', 'tagged']" ]
check "node3: tagged web:1 with no load" \
  [ "$(events "$EV" "[(x['event'], x.get('refs')) for x in e if x['node'] == 'node3' and x['event'] != 'probed']")" = "[('tagged', ['web:1'])]" ]
check "the plan holds node2 alone" [ "$(events "$EV" "[x['parents'] for x in e if x['event'] == 'planned']")" = "[{'node2': 'source'}]" ]
check "run_finished: 1 loaded, 1 tagged, the rest skipped" \
  [ "$(events "$EV" "e[-1]['outcomes']")" = "{'failed': 0, 'loaded': 1, 'not done': 0, 'skipped': $((${#NODES[@]} - 2)), 'tagged': 1}" ]
run_ts status --images app:1 web:1 --events /root/status.jsonl
check "after a sync, status exits 0" rc_is 0
check "status --events: valid, a probe per node that decided skip, then run_finished" \
  [ "$(valid_events "$SRC_HOME/status.jsonl" && events "$SRC_HOME/status.jsonl" "(e[0]['command'], sum(x['event'] == 'probed' and x['action'] == 'skip' for x in e), e[-1]['event'])")" = "('status', ${#NODES[@]}, 'run_finished')" ]
check "every cell says present" [ "$(grep -cE '^node[0-9]+ .*present +present *$' <<<"$OUT")" = "${#NODES[@]}" ]
rm -f "$SRC_HOME"/report.json "$SRC_HOME"/status.json "$SRC_HOME"/stdout.json "$SRC_HOME"/debug.log \
  "$SRC_HOME"/update.jsonl "$SRC_HOME"/status.jsonl
assert_clean
done_testing
