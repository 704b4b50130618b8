#!/usr/bin/env bash
# Flat-mode faults: a corrupted chunk is asked for again, as in a tree (one
# receive path); a tampered layer or config in the source's cache fails its
# SHA-256 on the node before docker load sees the end of the archive, and
# nothing is tagged; a node without room for the spool fails before any
# byte is sent; a source without room for its layer cache stops with one
# clear line.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 20
ensure_image web:1 10

echo "# a corrupted chunk: caught and asked for again, as in tree mode"
reset_nodes
run_ts_corrupting 2000000 --image app:1 --mode flat -v
check "exit status 0, no retry needed" rc_is 0
check "the relay caught the bad chunk and asked again" \
  grep -qE 'chunk at byte [0-9]+ from 198.18.0.10 failed its XXH3 check; asked for it again' <<<"$OUT"
check "no node was retried" bash -c '! grep -q "retrying" <<<"$1"' _ "$OUT"
check "every node shows app:1" all_nodes_have app:1
assert_clean

echo "# a tampered layer in the source's cache: nothing is tagged"
reset_nodes
run_ts --image web:1 --force --dry-run   # web:1's layers into the cache
top=$("$LAB" exec source docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' app:1 | awk '{print $NF}')
layer=$(ls "$SRC_HOME"/.cache/treesync/layers/"${top#sha256:}".tar*)
other=$(ls "$SRC_HOME"/.cache/treesync/layers/"$("$LAB" exec source docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' web:1 | awk '{print $NF}' | cut -d: -f2)".tar*)
cp "$layer" "$layer.good"
trap 'mv -f "$layer.good" "$layer"' EXIT
cp "$other" "$layer"   # a valid layer, of another image
run_ts --image app:1 --mode flat
check "exit status 1" rc_is 1
check "every relay refused the layer by its SHA-256, three times; nothing was loaded" \
  [ "$(grep -cE "^node[0-9]+ .* failed .*verify: ${top#sha256:}/layer.tar failed its SHA-256 check 3 times .*nothing was loaded" <<<"$OUT")" = "${#NODES[@]}" ]
check "each bad copy was fetched again from the source" \
  grep -qE "node[0-9]+: ${top}.* failed its SHA-256 check; resuming from the source" <<<"$OUT"
for n in "${NODES[@]}"; do check "$n has no app:1 tag" [ "$(node_id "$n" app:1)" = none ]; done
mv -f "$layer.good" "$layer"; trap - EXIT
assert_clean

echo "# a tampered config in the source's cache: refused by its digest, nothing is loaded or tagged"
reset_nodes
run_ts --image web:1 --mode flat --quiet   # the nodes hold web:1's layers: docker load skips them
config="$SRC_HOME/.cache/treesync/configs/$(source_id app:1 | cut -d: -f2).json"
cp "$config" "$config.good"
trap 'mv -f "$config.good" "$config"' EXIT
cp "$SRC_HOME/.cache/treesync/configs/$(source_id web:1 | cut -d: -f2).json" "$config"
run_ts --image app:1 --mode flat
check "exit status 1" rc_is 1
check "every relay refused the config by its SHA-256; nothing was loaded" \
  [ "$(grep -cE "^node[0-9]+ .* failed .*verify: $(source_id app:1 | cut -d: -f2).json failed its SHA-256 check 3 times .*nothing was loaded" <<<"$OUT")" = "${#NODES[@]}" ]
for n in "${NODES[@]}"; do check "$n does not hold app:1's ID either" \
  bash -c '! "$1" exec "$2" docker image inspect "$3" >/dev/null 2>&1' _ "$LAB" "$n" "$(source_id app:1)"; done
for n in "${NODES[@]}"; do check "$n has no app:1 tag" [ "$(node_id "$n" app:1)" = none ]; done
mv -f "$config.good" "$config"; trap - EXIT
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
echo "# no room for the layer cache on the source"
reset_nodes
"$LAB" exec source sh -c 'mkdir -p /root/small && mount -t tmpfs -o size=8m,mode=700 tmpfs /root/small'
trap '"$LAB" exec source umount /root/small' EXIT
run_ts --image space:1 --mode flat --cache-dir /root/small
check "exit status 1" rc_is 1
check "one line names the cache, the errno and the fix" \
  grep -qE '^treesync: cannot write the layer cache at /root/small/layers/.*: No space left on device \(free space there, or point --cache-dir elsewhere\)$' <<<"$OUT"
# Whole layers saved before the disk filled may stay (they are valid); no temp file and no config may.
check "no temp file and no config are left in the cache" \
  [ -z "$("$LAB" exec source sh -c 'ls -A /root/small/layers | grep "^\.saving-"; ls -A /root/small/configs')" ]
for n in "${NODES[@]}"; do check "$n received nothing" [ "$(node_id "$n" space:1)" = none ]; done
"$LAB" exec source umount /root/small; trap - EXIT
assert_clean
done_testing
