#!/usr/bin/env bash
# Layer-aware streams on 6 nodes: an update sends only its changed layer
# (the source's interface counters show it), nodes with none and with most
# of the layers are served in one run, the source reads what its cache
# lacks from Docker's layer store and never runs docker save (a docker
# wrapper on the source logs every call) unless it cannot read the store
# (a user in the docker group, not root), and compressible layers travel as
# zstd.
. "$(dirname "$0")/lib.sh"
[ "${#NODES[@]}" -ge 6 ] || fail "needs a lab of 6 nodes"
ensure_image upd:1 30
ensure_image upd:2 4 upd:1   # upd:1 plus one 4 MiB layer
ensure_image log:1 24 treesync-lab/base:1 text
tx() { "$LAB" exec source cat /sys/class/net/eth0/statistics/tx_bytes; }
top_layer() { "$LAB" exec source docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' "$1" | awk '{print $NF}'; }
# The size of a layer as the source sends it (its cache file).
sent_size() { stat -c %s "$SRC_HOME"/.cache/treesync/layers/"${1#sha256:}".tar*; }
# report FILE EXPR: a Python expression over the JSON report r.

# Every docker call treesync makes on the source goes through a logging wrapper.
real_docker=$("$LAB" exec source sh -c 'command -v docker')
mkdir -p "$SRC_HOME/wrap"
printf '#!/bin/sh\necho "$*" >>/root/docker-calls.log\nexec %s "$@"\n' "$real_docker" >"$SRC_HOME/wrap/docker"
chmod 755 "$SRC_HOME/wrap/docker"
trap 'rm -rf "$SRC_HOME/wrap" "$SRC_HOME/docker-calls.log"' EXIT
TS_ENV=("PATH=/root/wrap:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
saves() { grep -c '^save' "$SRC_HOME/docker-calls.log" || true; }

echo "# the update case: every node has upd:1, upd:2 adds one layer"
reset_nodes
rm -rf "$SRC_HOME/.cache/treesync/layers" "$SRC_HOME/.cache/treesync/configs"
: >"$SRC_HOME/docker-calls.log"
run_ts --image upd:1 --mode tree --fanout 2
check "upd:1 everywhere" all_nodes_have upd:1
check "the first run read upd:1 from Docker's layer store: no docker save" [ "$(saves)" = 0 ]
check "the summary says so" out_has "no docker save: 2 layer(s) and 1 config(s) read from Docker's layer store"
before=$(tx)
t0=$(date +%s.%N)
run_ts --image upd:2 --mode tree --fanout 2 -v --json /root/upd2.json
store_s=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t0}")
after=$(tx)
check "exit status 0" rc_is 0
check "every node has upd:2 with the source's ID and tag" all_nodes_have upd:2
check "and still upd:1" all_nodes_have upd:1
check "each node loaded one layer" [ "$(report "$SRC_HOME/upd2.json" "sorted(set(n['layers'] for n in r['nodes']))")" = "[1]" ]
layer=$(sent_size "$(top_layer upd:2)")
payload=$(report "$SRC_HOME/upd2.json" "r['source_bytes']")
wire=$((after - before))
echo "  changed layer: $layer bytes as sent; treesync sent $payload bytes of stream, the interface $wire bytes"
check "source stream bytes <= 1.1 x layer x fanout 2" [ "$payload" -le $((layer * 2 * 11 / 10)) ]
check "source interface bytes <= 1.1 x layer x fanout 2 + 256 KiB of SSH and TCP" [ "$wire" -le $((layer * 2 * 11 / 10 + 262144)) ]
check "upd:2 cost no docker save" [ "$(saves)" = 0 ]
check "its new layer and config came from Docker's layer store" \
  out_has "no docker save: 1 layer(s) and 1 config(s) read from Docker's layer store"
check "(the new layer is in the cache)" test -n "$(ls "$SRC_HOME"/.cache/treesync/layers/"$(top_layer upd:2 | cut -d: -f2)".tar*)"
assert_clean

echo "# nodes with none and with most of the layers, in one run"
for n in node4 node5 node6; do "$LAB" exec "$n" sh -c 'docker image ls -aq | sort -u | xargs -r docker rmi -f' >/dev/null; done
"$LAB" exec node1 docker rmi upd:2 >/dev/null
"$LAB" exec node2 docker rmi upd:2 >/dev/null
"$LAB" exec node3 docker rmi upd:2 >/dev/null
run_ts --image upd:2 --mode tree --fanout 2 --dry-run
check "the plan puts the three empty nodes in one subtree" \
  grep -qE '^    node4 .*lacks 3 of 3 layer' <<<"$OUT"
check "and shows what the others lack" grep -qE '^      node[123] .*lacks 1 of 3 layer' <<<"$OUT"
run_ts --image upd:2 --mode tree --fanout 2 --json /root/mixed.json
check "exit status 0" rc_is 0
check "every node has upd:2" all_nodes_have upd:2
check "node1-3 got 1 layer, node4-6 all 3" \
  [ "$(report "$SRC_HOME/mixed.json" "[n['layers'] for n in sorted(r['nodes'], key=lambda n: n['name'])]")" = "[1, 1, 1, 3, 3, 3]" ]
check "no docker save: every layer and config was cached" [ "$(saves)" = 0 ]
check "the summary says so" out_has "no docker save: every layer was cached"
check "the report says so" [ "$(report "$SRC_HOME/mixed.json" "r['archive']['reused']")" = True ]
assert_clean

echo "# a parent whose stream carries more than its children's is killed: they resume their own"
reset_nodes
run_ts --image upd:1 --nodes node5,node6 --mode flat --quiet   # node5, node6 lack only upd:2's top layer
"$LAB" shape 100mbit
trap '"$LAB" shape off; rm -rf "$SRC_HOME/wrap" "$SRC_HOME/docker-calls.log"' EXIT
run_ts --image upd:2 --mode tree --fanout 2 --dry-run
check "node4 (lacks everything) feeds node5 and node6 (lack one layer)" \
  bash -c 'grep -qE "^    node4 .*lacks 3 of 3" <<<"$1" && grep -qE "^      node5 .*lacks 1 of 3" <<<"$1"' _ "$OUT"
start_ts --image upd:2 --mode tree --fanout 2 -v
wait_spool node4 $((8 << 20))   # node4 is inside upd:1's 30 MiB layer; its children's stream waits for the top one
kill -KILL "$(relay_pid node4)"
wait_ts
"$LAB" shape off
check "exit status 1: node4 failed" bash -c '[ "$1" = 1 ] && grep -qE "^node4 .* failed " <<<"$2"' _ "$RC" "$OUT"
for n in node5 node6; do
  # The first goes to the source; the second may then go under it (same stream, room, shallower).
  check "$n resumed from the source or its sibling, past its manifest and config, not from zero" \
    grep -qE "$n: lost its parent node4; resuming from (the source|node5|node6) at byte [1-9][0-9]*" <<<"$OUT"
  check "$n has upd:2" [ "$(node_id "$n" upd:2)" = "$(source_id upd:2)" ]
done
for n in node1 node2 node3; do check "$n has upd:2" [ "$(node_id "$n" upd:2)" = "$(source_id upd:2)" ]; done
assert_clean

echo "# flat mode, mixed, and a forced run with nothing new"
reset_nodes
run_ts --image upd:1 --nodes node1 --mode flat --quiet
run_ts --image upd:2 --nodes node1,node2 --mode flat --json /root/flat.json
check "exit status 0" rc_is 0
for n in node1 node2; do check "$n has upd:2" [ "$(node_id "$n" upd:2)" = "$(source_id upd:2)" ]; done
check "node1 got 1 layer, node2 all 3" \
  [ "$(report "$SRC_HOME/flat.json" "[n['layers'] for n in sorted(r['nodes'], key=lambda n: n['name'])]")" = "[1, 3]" ]
run_ts --image upd:2 --force --mode flat
check "a forced run loads again" out_has "${#NODES[@]} loaded"
check "and saves nothing" [ "$(saves)" = 0 ]
assert_clean

echo "# compressible layers travel as zstd and arrive whole"
reset_nodes
run_ts --image log:1 --mode tree --fanout 2 --json /root/log.json
check "exit status 0" rc_is 0
check "every node has log:1" all_nodes_have log:1
text=$(top_layer log:1)
check "the text layer is cached compressed" test -f "$SRC_HOME/.cache/treesync/layers/${text#sha256:}.tar.zst"
raw=$("$LAB" exec source docker image inspect -f '{{.Size}}' log:1)
bundle=$(report "$SRC_HOME/log.json" "r['archive']['bytes']")
echo "  log:1 is $raw bytes unpacked; all its layers as sent: $bundle bytes"
check "the bundle is well under the image (zstd)" [ "$bundle" -lt $((raw * 7 / 10)) ]
check "the source sent 2 bundles (fanout 2)" [ "$(report "$SRC_HOME/log.json" "r['source_bytes'] == 2 * r['archive']['bytes']")" = True ]
check "the summary names the compression" grep -qE 'compress auto: [0-9]+ of [0-9]+ layer\(s\) as zstd' <<<"$OUT"
reset_nodes
run_ts --image log:1 --mode flat --nodes node1 --compress none --json /root/none.json
check "--compress none: node1 has log:1" [ "$(node_id node1 log:1)" = "$(source_id log:1)" ]
check "--compress none sends the layers as they are" \
  [ "$(report "$SRC_HOME/none.json" "r['archive']['bytes'] > $raw * 9 // 10")" = True ]
check "the uncompressed form is cached beside the other" test -f "$SRC_HOME/.cache/treesync/layers/${text#sha256:}.tar"
assert_clean
echo "# a user in the docker group cannot read Docker's layer store: docker save, as before"
reset_nodes
as_docker_user
trap 'as_root; rm -rf "$SRC_HOME/wrap" "$SRC_HOME/docker-calls.log"' EXIT
run_ts --image upd:1 --mode tree --fanout 2 -v
check "exit status 0" rc_is 0
check "it says why it saves, at debug level" \
  out_has "layerdb: Permission denied (treesync is not run as root); docker save instead"
check "and saves" out_has "saving 1 image(s) into the layer cache /tmp/ts-user/.cache/treesync (docker save)"
check "upd:1 everywhere" all_nodes_have upd:1
t0=$(date +%s.%N)
run_ts --image upd:2 --mode tree --fanout 2 -v
save_s=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $t0}")
check "exit status 0" rc_is 0
check "the update saved upd:2 whole" out_has "saving 1 image(s) into the layer cache"
check "every node has upd:2 with the source's ID and tag" all_nodes_have upd:2
check "nothing is left in its cache but whole layers and configs" \
  bash -c '! ls -A "$1/layers" "$1/configs" | grep -q "^\.saving-"' _ "$USER_CACHE"
echo "  the update of upd:2 (one 4 MiB layer) on ${#NODES[@]} nodes, cache holding upd:1: ${store_s} s reading Docker's layer store, ${save_s} s with docker save"
as_root
assert_clean
done_testing
