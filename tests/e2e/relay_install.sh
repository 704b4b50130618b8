#!/usr/bin/env bash
# A damaged relay cached on a node (the remains of a cut upload, or a file
# that is not what its name says) is replaced and the node gets the image;
# a node where no relay can run fails at "install relay" with one line.
# Relays travel: with no node holding one, the source uploads it to
# --fanout nodes and the others fetch it from those (the report says from
# whom; the source's relay bytes are --fanout relays); a node that cannot
# fetch (no `timeout` there) gets the upload, saying why.
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
  check "$n: the damaged relay was noticed and installed again" \
    grep -qE "$n: the cached relay does not start \(relay exited \(.*\); installing it again" <<<"$OUT"
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

echo "# relays travel: no node has one; the source ships it to --fanout 2 nodes, the rest fetch it"
SIZE=$(stat -c %s "$REAL")
rm -f "$TREESYNC_LAB_DIR"/hosts/node*/root/.cache/treesync/treesync-relay-*
run_ts --image inst:1 --mode flat --fanout 2 --force --json /root/travel.json
check "exit status 0" rc_is 0
R="$SRC_HOME/travel.json"
check "the report validates" valid_report "$R"
check "the source uploaded the relay to at most 2 nodes, every other node fetched it from a node" \
  [ "$(report "$R" "(lambda f: sum(x == 'source' for x in f) <= 2 and all(x == 'source' or x in [n['name'] for n in r['nodes']] for x in f))([n['relay'] for n in r['nodes']])")" = True ]
check "relay_bytes: the source's relay bytes are the uploads' ($SIZE bytes each)" \
  [ "$(report "$R" "r['relay_bytes'] == $SIZE * sum(n['relay'] == 'source' for n in r['nodes']) and r['relay_bytes'] <= 2 * $SIZE")" = True ]
check "the summary says where the relays came from" grep -qE '^relays: [12] sent by the source \([0-9.]+ MiB\), [45] lent by other nodes, 0 cached$' <<<"$OUT"
for n in "${NODES[@]}"; do
  check "$n holds the real relay, byte for byte" cmp -s "$REAL" "$(state "$n")/$name"
done
assert_clean

echo "# one at a time: node1 has the relay and lends it; node3 cannot fetch (no timeout there) and gets the upload"
rm -f "$TREESYNC_LAB_DIR"/hosts/node[2-9]*/root/.cache/treesync/treesync-relay-*
"$LAB" exec node3 mount --bind /dev/null /usr/bin/timeout
trap '"$LAB" exec node3 umount /usr/bin/timeout' EXIT
run_ts --image inst:1 --mode flat --fanout 2 --force --max-workers 1 --json /root/travel1.json
"$LAB" exec node3 umount /usr/bin/timeout; trap - EXIT
check "exit status 0" rc_is 0
R="$SRC_HOME/travel1.json"
check "node1 had it cached, node2 fetched it from node1, node3 got the source's, node4.. fetched theirs" \
  [ "$(report "$R" "[n['relay'] == 'source' if n['name'] == 'node3' else n['relay'] != 'source' for n in r['nodes']] + [r['nodes'][0]['relay'], r['nodes'][1]['relay']]")" = "[True, True, True, True, True, True, 'cached', 'node1']" ]
check "node3's fetch failed in one line saying why, and the source sent it" \
  grep -qE "node3: cannot fetch the relay from node1 \(bash and timeout are needed to fetch the relay from a node\); the source sends it" <<<"$OUT"
check "node3's lack was not held against node1, which lent to node4 next" [ "$(report "$R" "r['nodes'][3]['relay']")" = node1 ]
check "the source sent one relay" [ "$(report "$R" "r['relay_bytes']")" = "$SIZE" ]
check "node3 holds the real relay" cmp -s "$REAL" "$(state node3)/$name"
assert_clean

echo "# the repaired relays are trusted again: nothing is uploaded"
run_ts --image inst:1 --mode flat --nodes node1,node2 --force -v
check "exit status 0" rc_is 0
check "no relay was uploaded" [ "$(grep -c 'uploading relay' <<<"$OUT")" = 0 ]
assert_clean
done_testing
