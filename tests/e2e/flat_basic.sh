#!/usr/bin/env bash
# Fresh load, second run skips, --force reloads, relay shipped only once
# (to most nodes by the nodes that have it).
. "$(dirname "$0")/lib.sh"
ensure_image app:1 20
reset_nodes
rm -f "$TREESYNC_LAB_DIR"/hosts/node*/root/.cache/treesync/treesync-relay-*

run_ts --image app:1 --mode flat -v
check "first run exits 0" rc_is 0
check "every node shows app:1 with the source's ID" all_nodes_have app:1
check "every node reported loaded" out_has "${#NODES[@]} node(s): ${#NODES[@]} loaded"
UPLOADED=$(grep -c 'uploading relay' <<<"$OUT" || true)
FETCHED=$(grep -c 'fetched the relay from node' <<<"$OUT" || true)
check "each node got the relay once, uploaded or fetched from a node" [ "$((UPLOADED + FETCHED))" = "${#NODES[@]}" ]
check "the source uploaded it to at most --fanout (4) nodes ($UPLOADED)" [ "$UPLOADED" -le 4 ]
assert_clean

run_ts --image app:1 --mode flat -v
check "second run exits 0" rc_is 0
check "second run skips every node" out_has "0 loaded, 0 tagged, ${#NODES[@]} skipped"
check "second run uploads no relay (cached by hash)" [ "$(grep -c 'uploading relay' <<<"$OUT")" = 0 ]
assert_clean

run_ts --image app:1 --mode flat --force
check "--force exits 0" rc_is 0
check "--force loads every node again" out_has "${#NODES[@]} loaded, 0 tagged, 0 skipped"
check "--force saves nothing: every layer is cached" out_has "no docker save: every layer was cached"
check "still the right ID everywhere" all_nodes_have app:1
assert_clean
done_testing
