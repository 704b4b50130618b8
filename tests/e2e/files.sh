#!/usr/bin/env bash
# The files payload (--files PATH... --dest DIR) on a lab of its own, 4
# nodes in a tree of fanout 2: a tree of files (a 20 MiB random one, a
# nested directory, an executable, a known mtime) lands on every node with
# its contents, modes and mtimes, as the node's own sha256sum and stat
# show; the source sends at most 2 copies; a rerun sends nothing; a changed
# file travels alone; --delete removes an extra file; a symlink planted in
# DEST that points outside is never written through. node4's dockerd is
# stopped throughout: files need no container runtime.
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-files 4
"$LAB" dockerd-stop node4
PAYLOAD="$TREESYNC_LAB_DIR/hosts/source/tmp/payload"  # /tmp/payload on the source
DEST=/root/models
rm -rf "$PAYLOAD"
mkdir -p "$PAYLOAD/model/nested/deeper"
head -c $((20 << 20)) /dev/urandom >"$PAYLOAD/model/weights.bin"
printf '{"layers": 80}\n' >"$PAYLOAD/model/nested/config.json"
printf 'tokens\n' >"$PAYLOAD/model/nested/deeper/vocab.txt"
printf '#!/bin/sh\necho serving\n' >"$PAYLOAD/model/serve.sh"
chmod 0755 "$PAYLOAD/model/serve.sh"
chmod 0640 "$PAYLOAD/model/nested/config.json"
touch -d '2024-01-02 03:04:05.123456789 UTC' "$PAYLOAD/model/nested/config.json"
tx() { "$LAB" exec source cat /sys/class/net/eth0/statistics/tx_bytes; }
FILES=(model/weights.bin model/nested/config.json model/nested/deeper/vocab.txt model/serve.sh)

# Each file on NODE has the source's SHA-256, mode and mtime (to the ns).
node_matches() {
  local n=$1 f want got
  for f in "${FILES[@]}"; do
    want=$(cd "$PAYLOAD" && sha256sum "$f" | cut -d' ' -f1)" "$(stat -c '%a %.9Y' "$PAYLOAD/$f")
    got=$("$LAB" exec "$n" sh -c "sha256sum $DEST/$f | cut -d' ' -f1; stat -c '%a %.9Y' $DEST/$f" | tr '\n' ' ' | sed 's/ $//')
    [ "$want" = "$got" ] || { echo "  $n: $f is '$got', the source's '$want'"; return 1; }
  done
}
absent() { ! "$LAB" exec "$1" test -e "$2"; }
every_node_matches() { local n; for n in "${NODES[@]}"; do node_matches "$n" || return 1; done; }

run_ts --files /tmp/payload/model --dest $DEST --mode tree --fanout 2 --dry-run
check "dry run exits 0 and shows the tree" grep -qE '^      node[0-9] ' <<<"$OUT"
check "dry run: each node lacks all 4 files" [ "$(grep -c 'lacks 4 of 4 file(s)' <<<"$OUT")" = 4 ]
check "dry run wrote nothing, not even DEST" absent node1 $DEST

before=$(tx)
run_ts --files /tmp/payload/model --dest $DEST --mode tree --fanout 2 --json /tmp/files.json --events /tmp/files.events
after=$(tx)
check "files run exits 0" rc_is 0
check "4 nodes loaded" out_has "4 node(s): 4 loaded"
check "every node holds each file with the source's SHA-256, mode and mtime" every_node_matches
check "the nested directory keeps its mode" [ "$("$LAB" exec node3 stat -c %a $DEST/model/nested)" = "$(stat -c %a "$PAYLOAD/model/nested")" ]
REPORT="$TREESYNC_LAB_DIR/hosts/source/tmp/files.json"
check "the report is valid against the schema" valid_report "$REPORT"
check "the events are valid against their schema" valid_events "$TREESYNC_LAB_DIR/hosts/source/tmp/files.events"
check "the report names the payload" [ "$(report "$REPORT" 'r["files"]["files"], r["files"]["dest"]')" = "(4, '/root/models')" ]
check "two nodes were fed by other nodes (a tree)" \
  [ "$(report "$REPORT" 'sum(1 for n in r["nodes"] if n["parent"] not in ("source", None))')" = 2 ]
size=$(report "$REPORT" 'r["archive"]["bytes"]')
sent=$((after - before))
echo "  source interface sent $sent bytes for a $size-byte payload"
check "the source sent at most 2 copies (+3%) by its interface counters" [ "$sent" -le $((size * 2 * 103 / 100)) ]
check "no temp file left on node4" [ -z "$("$LAB" exec node4 find $DEST -name '.treesync-tmp-*')" ]

before=$(tx)
run_ts --files /tmp/payload/model --dest $DEST --mode tree --fanout 2
after=$(tx)
check "a rerun exits 0 and skips every node" out_has "4 node(s): 0 loaded, 0 tagged, 4 skipped"
echo "  source interface sent $((after - before)) bytes on the rerun"
check "a rerun sends under 1 MiB (control only)" [ $((after - before)) -lt $((1 << 20)) ]

run_ts status --files /tmp/payload/model --dest $DEST
# status_shows RC TEXT COUNT: exited RC, and COUNT lines of OUT hold TEXT.
status_shows() { [ "$RC" = "$1" ] && [ "$(grep -cF -- "$2" <<<"$OUT")" = "$3" ]; }
check "status: every node present, exit 0" status_shows 0 " present" 4

printf '{"layers": 81}\n' >"$PAYLOAD/model/nested/config.json"
run_ts status --files /tmp/payload/model --dest $DEST
check "status after a change: every node lacks 1 file, exit 1" status_shows 1 "lacks 1 file(s)" 4
run_ts --files /tmp/payload/model --dest $DEST --mode tree --fanout 2 --json /tmp/files2.json
check "after a change, exits 0" rc_is 0
check "only the changed file travelled: each node received under 1 KiB" \
  [ "$(report "$TREESYNC_LAB_DIR/hosts/source/tmp/files2.json" 'max(n["bytes"] for n in r["nodes"]) < 1024 and all(n["layers"] == 1 for n in r["nodes"])')" = True ]
check "every node has the change" every_node_matches

"$LAB" exec node1 sh -c "echo stale >$DEST/model/old.bin; mkdir -p $DEST/model/olddir; echo x >$DEST/model/olddir/y"
run_ts --files /tmp/payload/model --dest $DEST --mode tree --fanout 2 --delete
check "--delete exits 0" rc_is 0
check "--delete removed the extra file on node1" absent node1 $DEST/model/old.bin
check "--delete removed the extra directory on node1" absent node1 $DEST/model/olddir
check "--delete kept the payload" node_matches node1

# node2: model/nested replaced by a link to a directory outside DEST.
"$LAB" exec node2 sh -c "mkdir -p /root/outside && echo secret >/root/outside/config.json && rm -rf $DEST/model/nested && ln -s /root/outside $DEST/model/nested"
run_ts --files /tmp/payload/model --dest $DEST --nodes node2 --mode flat
check "without --delete node2 fails, naming the link" grep -qE '^node2 .*failed .*symlink' <<<"$OUT"
check "nothing was written through the link" [ "$("$LAB" exec node2 cat /root/outside/config.json)" = secret ]
check "nothing else appeared outside" [ "$("$LAB" exec node2 ls /root/outside)" = config.json ]
run_ts --files /tmp/payload/model --dest $DEST --nodes node2 --mode flat --delete
check "with --delete the link goes (as a link) and node2 gets the files" node_matches node2
check "the link's target is untouched" [ "$("$LAB" exec node2 cat /root/outside/config.json)" = secret ]
assert_clean
done_testing
