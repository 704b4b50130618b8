#!/usr/bin/env bash
# Stage, then activate, on a lab of its own: 8 nodes on Debian's dockerd.
# `stage` leaves every node holding the image under treesync's staged name
# and not under the operator's tag (each node's own docker says so);
# `activate` tags every node at once (the report's spread under 1 s) and
# drops the staged name. Then: a node whose runtime stops between the two is
# reported, the others are tagged, and that node is unchanged once its
# runtime is back; a node never staged is reported with the fix; a plain
# sync reports its spread too. It runs alone, never beside the shared lab.
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-stage 8

staged() { echo "treesync.invalid/docker.io/library/${1%%:*}/treesync-staged:${1#*:}"; }
J() { echo "$SRC_HOME/$1.json"; }
# Every node but SKIP (or none) has REF pointing at WANT; "none" for absent.
nodes_show() {
  local ref=$1 want=$2 skip=${3:-} n
  for n in "${NODES[@]}"; do
    [ "$n" = "$skip" ] && continue
    [ "$(node_id "$n" "$ref")" = "$want" ] || { echo "  $n: $ref is $(node_id "$n" "$ref"), want $want"; return 1; }
  done
}
ensure_image app:1 12
ensure_image app:2 4 app:1
ensure_image app:3 4 app:1
ensure_image app:4 4 app:1
ensure_image app:5 4 app:1
check "8 nodes" [ "${#NODES[@]}" = 8 ]

echo "# stage: every node holds app:2 under the staged name, none under app:2"
APP2=$(source_id app:2)
run_ts stage --image app:2 --mode tree --fanout 2 --json /root/stage.json
check "exit 0" rc_is 0
check "every node's docker: the staged name points at the source's app:2" nodes_show "$(staged app:2)" "$APP2"
check "no node has the tag app:2" nodes_show app:2 none
check "the summary counts 8 staged" out_has "stage: 8 staged now, 0 present already (staged or active), 0 not staged"
check "the summary names the staged name and the command that activates it" \
  out_has "staged app:2 as $(staged app:2)"
check "  and the command that activates it" out_has "activate with: treesync activate --image app:2"
check "the report is valid against the schema" valid_report "$(J stage)"
check "it says stage, every node loaded, no activation" \
  [ "$(report "$(J stage)" "(r['command'], [n['outcome'] for n in r['nodes']].count('loaded'), r['activation'])")" = "('stage', 8, None)" ]

echo "# status shows the staged image"
run_ts status --image app:2
check "status exits 1 (not active anywhere)" rc_is 1
check "every node's column says staged" [ "$(grep -cE '^node[0-9] .* staged *$' <<<"$OUT")" = 8 ]

echo "# stage again: every node has it, nothing is sent"
run_ts stage --image app:2 --json /root/stage2.json
check "exit 0" rc_is 0
check "the summary says every node has it already" out_has "stage: 0 staged now, 8 present already (staged or active), 0 not staged"
check "every node skipped, the source sent nothing" \
  [ "$(report "$(J stage2)" "([n['action'] for n in r['nodes']].count('skip'), r['source_bytes'])")" = "(8, 0)" ]

echo "# activate: the tags land on every node together"
run_ts activate --image app:2 --json /root/activate.json
check "exit 0" rc_is 0
check "every node's docker: app:2 points at the source's ID" nodes_show app:2 "$APP2"
check "the staged name is gone from every node" nodes_show "$(staged app:2)" none
check "the report is valid against the schema" valid_report "$(J activate)"
spread=$(report "$(J activate)" "r['activation']['spread_seconds']")
echo "  activation spread over $(report "$(J activate)" "r['activation']['nodes']") nodes: $spread s"
check "8 nodes tagged, spread under 1 s" \
  [ "$(report "$(J activate)" "(r['activation']['nodes'], r['activation']['spread_seconds'] < 1.0)")" = "(8, True)" ]
check "the summary states the spread" grep -qE '^activation spread: [0-9.]+ s over 8 node\(s\)' <<<"$OUT"
check "it sent no image bytes" [ "$(report "$(J activate)" "r['source_bytes']")" = 0 ]

echo "# activate again: active already, nothing changes"
run_ts activate --image app:2
check "exit 0" rc_is 0
check "8 active already" out_has "0 activated, 8 active already, 0 not staged, 0 failed"

echo "# a node whose runtime stops between stage and activate"
APP3=$(source_id app:3)
run_ts stage --image app:3
check "stage exits 0" rc_is 0
run_ts activate --image app:3 --dry-run
check "activate --dry-run exits 0" rc_is 0
check "  says every node would be tagged" [ "$(grep -c ': would be tagged$' <<<"$OUT")" = 8 ]
check "  and tags nothing" nodes_show app:3 none
"$LAB" runtime-stop node3
run_ts activate --image app:3 --json /root/stopped.json
"$LAB" runtime-start node3
check "exit 1" rc_is 1
check "node3 is reported with its step and reason" \
  [ "$(report "$(J stopped)" "[(n['outcome'], n['step']) for n in r['nodes'] if n['name'] == 'node3'][0]")" = "('failed', 'probe')" ]
check "the other 7 are tagged" nodes_show app:3 "$APP3" node3
check "  and counted in the spread" [ "$(report "$(J stopped)" "r['activation']['nodes']")" = 7 ]
check "node3, its runtime back: app:3 is not tagged" [ "$(node_id node3 app:3)" = none ]
check "  and still staged" [ "$(node_id node3 "$(staged app:3)")" = "$APP3" ]
run_ts activate --image app:3 --nodes node3
check "activating node3 later works" rc_is 0
check "  node3 has app:3 now" [ "$(node_id node3 app:3)" = "$APP3" ]

echo "# a node that was never staged: reported with the fix, the others activated"
APP4=$(source_id app:4)
run_ts stage --image app:4 --nodes node1,node3,node4,node5,node6,node7,node8
check "stage on 7 exits 0" rc_is 0
run_ts activate --image app:4 --json /root/unstaged.json
check "exit 1" rc_is 1
check "node2 is not staged, and the line says how to fix it" \
  grep -qE '^node2 .* failed .* stage: app:4 is not staged here .*run treesync stage --image app:4 first' <<<"$OUT"
check "the others are activated" nodes_show app:4 "$APP4" node2
check "node2 is left as it was" [ "$(node_id node2 app:4)" = none ]
check "the report says not staged" \
  [ "$(report "$(J unstaged)" "[n['action'] for n in r['nodes'] if n['name'] == 'node2'][0]")" = "not staged" ]
check "the report is valid against the schema" valid_report "$(J unstaged)"

echo "# a plain sync still loads and tags in one go, and states its spread"
APP5=$(source_id app:5)
run_ts --image app:5 --mode tree --fanout 2 --json /root/sync.json
check "exit 0" rc_is 0
check "every node has app:5" nodes_show app:5 "$APP5"
check "the report's spread covers 8 nodes" [ "$(report "$(J sync)" "r['activation']['nodes']")" = 8 ]
echo "  sync's activation spread (tags as each node verifies): $(report "$(J sync)" "r['activation']['spread_seconds']") s"
check "the summary states it" grep -qE '^activation spread: [0-9.]+ s over 8 node\(s\)' <<<"$OUT"
assert_clean
done_testing
