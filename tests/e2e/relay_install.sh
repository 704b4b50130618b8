#!/usr/bin/env bash
# A damaged relay cached on a node (the remains of a cut upload, or a file
# that is not what its name says) is replaced and the node gets the image;
# a node where no relay can run fails at "install relay" with one line.
. "$(dirname "$0")/lib.sh"
ensure_image inst:1 5
reset_nodes
REAL="$(dirname "$TS")/treesync-relay"
state() { echo "$TREESYNC_LAB_DIR/hosts/$1/root/.cache/treesync"; }

rm -f "$TREESYNC_LAB_DIR"/hosts/node*/root/.cache/treesync/treesync-relay-*
run_ts status --images inst:1 --nodes node1 >/dev/null   # installs the relay: its file name is its hash
name=$(cd "$(state node1)" && ls treesync-relay-*)
check "node1 holds one relay, named by its hash" [ "$(wc -w <<<"$name")" = 1 ]

echo "# node1: the first 1000 bytes (an upload cut short); node2: one byte too many (its own hash check fails)"
mkdir -p "$(state node1)" "$(state node2)" "$(state node3)"
head -c 1000 "$REAL" >"$(state node1)/$name"
{ cat "$REAL"; printf x; } >"$(state node2)/$name"
chmod 700 "$(state node1)/$name" "$(state node2)/$name"
echo "# node3: ~/.cache/treesync mounted noexec, so no relay can run there"
"$LAB" exec node3 mount -t tmpfs -o size=8m,mode=700,noexec tmpfs /root/.cache/treesync
trap '"$LAB" exec node3 umount /root/.cache/treesync' EXIT

run_ts --image inst:1 --mode flat
check "exit status 1 (node3 failed)" rc_is 1
for n in node1 node2; do
  check "$n: the damaged relay was noticed and uploaded again" \
    grep -qE "$n: the cached relay does not start \(relay exited \(.*\); uploading it again" <<<"$OUT"
  check "$n has inst:1" [ "$(node_id "$n" inst:1)" = "$(source_id inst:1)" ]
  check "$n's installed relay is now the real one, byte for byte" cmp -s "$REAL" "$(state "$n")/$name"
done
check "node3 failed at install relay, in one line naming the exit and the likely cause" \
  grep -qE '^node3 .* failed .*install relay: the relay does not start: relay exited \(status 126\).*\(is ~/.cache/treesync on the node mounted noexec\?\)$' <<<"$OUT"
check "node3 has nothing" [ "$(node_id node3 inst:1)" = none ]
for n in "${NODES[@]}"; do
  case $n in node1 | node2 | node3) continue ;; esac
  check "$n has inst:1" [ "$(node_id "$n" inst:1)" = "$(source_id inst:1)" ]
done
"$LAB" exec node3 umount /root/.cache/treesync; trap - EXIT
assert_clean

echo "# the repaired relays are trusted again: nothing is uploaded"
run_ts --image inst:1 --mode flat --nodes node1,node2 --force -v
check "exit status 0" rc_is 0
check "no relay was uploaded" [ "$(grep -c 'uploading relay' <<<"$OUT")" = 0 ]
assert_clean
done_testing
