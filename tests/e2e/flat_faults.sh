#!/usr/bin/env bash
# Flat-mode faults: a corrupted chunk fails the node and --retries brings it
# back; a tampered archive is loaded but never tagged; a node without room
# for the spool fails before any byte is sent.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 20
ensure_image web:1 10

echo "# a corrupted chunk: caught, the node retried, then right"
reset_nodes
run_ts_corrupting 2000000 --image app:1 --mode flat --retries 2
check "exit status 0 after the retry" rc_is 0
check "the relay caught the bad chunk" grep -qE 'receive: chunk at offset [0-9]+ failed its XXH3 check' <<<"$OUT"
check "one node was retried" out_has "retrying 1 node(s)"
check "every node shows app:1" all_nodes_have app:1
assert_clean

echo "# a tampered archive: nothing is tagged"
reset_nodes
archive=$(ls -t "$SRC_HOME"/.cache/treesync/archives/*.tar | head -1)
cp "$archive" "$archive.good"
trap 'mv -f "$archive.good" "$archive"' EXIT
"$LAB" exec source sh -c "docker save -o '/root/.cache/treesync/archives/$(basename "$archive")' \$(docker image inspect -f '{{.Id}}' web:1)"
run_ts --image app:1 --mode flat
check "exit status 1" rc_is 1
check "every node failed verification, naming both IDs" \
  [ "$(grep -cE "^node[0-9]+ .* failed .*verify: docker load produced $(source_id web:1) instead of $(source_id app:1); nothing was tagged" <<<"$OUT")" = "${#NODES[@]}" ]
for n in "${NODES[@]}"; do check "$n has no app:1 tag" [ "$(node_id "$n" app:1)" = none ]; done
mv -f "$archive.good" "$archive"; trap - EXIT
assert_clean

echo "# no room for the spool on node3"
ensure_image space:1 20   # its own image: the expected size does not depend on test order
reset_nodes
"$LAB" exec node3 mount -t tmpfs -o size=8m,mode=700 tmpfs /root/.cache/treesync
trap '"$LAB" exec node3 umount /root/.cache/treesync' EXIT
run_ts --image space:1 --mode flat
check "exit status 1" rc_is 1
check "node3 failed on space, naming what it needs and has" \
  grep -qE '^node3 .* failed .*space: needs 21\.[0-9] MiB free in ~/.cache/treesync for the spool, has [0-9.]+ MiB' <<<"$OUT"
check "node3 received nothing" grep -qE '^node3 .* failed +0 B ' <<<"$OUT"
check "the others loaded" out_has "$((${#NODES[@]} - 1)) loaded"
check "node3's small disk holds no spool" "$LAB" exec node3 sh -c '! ls -A /root/.cache/treesync | grep -q run-'
"$LAB" exec node3 umount /root/.cache/treesync; trap - EXIT
assert_clean
done_testing
