#!/usr/bin/env bash
# arm64 nodes (scripts/lab up --arm64): treesync learns each node's `uname -m`
# at first contact and ships it the relay built for it. node2 and node3 say
# aarch64 and run the arm64 relay under qemu-user-static: in a chain
# (fan-out 1) source -> node1 -> node2 -> node3 -> node4 every kind of edge
# is there, x86 to arm64, arm64 to arm64, arm64 to x86. An amd64 image is
# refused on them with one line while the x86 nodes take it; --force loads
# it anyway.
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-arm64 4 --arm64 2,3
ARM=(node2 node3) X86=(node1 node4)
ensure_image app:1 4
SRC_TMP="$TREESYNC_LAB_DIR/hosts/source/tmp"

check "node2 says aarch64 to uname -m, node1 x86_64" \
  [ "$("$LAB" exec node2 uname -m) $("$LAB" exec node1 uname -m)" = "aarch64 x86_64" ]

# The relay cached on HOST: its one treesync-relay-HASH file.
cached_relay() { ls "$TREESYNC_LAB_DIR/hosts/$1/root/.cache/treesync/"treesync-relay-*; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }

echo "# an amd64 image, no --force: refused on the arm64 nodes only"
run_ts --image app:1 --mode tree --fanout 1
check "exit status 1 (some nodes failed)" rc_is 1
for n in "${ARM[@]}"; do
  # "this node is arm64" is the relay's own uname(): the arm64 relay ran there.
  check "$n: one line refuses app:1 (amd64) for this arm64 node" \
    grep -qF "$n: platform: app:1 is built for amd64, this node is arm64; build or pull app:1 for arm64 on the source (or --force to load it anyway)" <<<"$OUT"
  check "$n: app:1 is not there" [ "$(node_id "$n" app:1)" = none ]
  check "$n: the relay it has is the arm64 one, alone" \
    [ "$(cached_relay "$n" | wc -l) $(sha "$(cached_relay "$n")")" = "1 $(sha "$BUILD/treesync-relay-arm64")" ]
done
for n in "${X86[@]}"; do
  check "$n (x86_64) has app:1 with the source's ID" [ "$(node_id "$n" app:1)" = "$(source_id app:1)" ]
  check "$n: the relay it has is the amd64 one, alone" \
    [ "$(cached_relay "$n" | wc -l) $(sha "$(cached_relay "$n")")" = "1 $(sha "$BUILD/treesync-relay")" ]
done

echo "# --force: every node loads it; the arm64 relays run under qemu, as parent and child"
reset_nodes
# Capped so the relays live long enough to be looked at.
start_ts --image app:1 --mode tree --fanout 1 --force --limit-rate 20M --json /tmp/report.json
exe_of() {  # HOST: what runs HOST's relay, and its command line
  local i pid
  for i in $(seq 300); do
    pid=$(relay_pid "$1") && [ -n "$pid" ] && { readlink "/proc/$pid/exe"; tr '\0' ' ' <"/proc/$pid/cmdline"; echo; return 0; }
    sleep 0.05
  done
  echo "no relay process"
}
arm_exe=$(exe_of node2) x86_exe=$(exe_of node1)
wait_ts
printf '  node2: %s\n  node1: %s\n' "$arm_exe" "$x86_exe"
check "exit status 0" rc_is 0
check "node2's relay process is qemu-aarch64" grep -qx '/usr/bin/qemu-aarch64-static' <(sed -n 1p <<<"$arm_exe")
check "node2's qemu runs the cached arm64 relay" \
  grep -qF "/$(basename "$(cached_relay node2)") serve" <(sed -n 2p <<<"$arm_exe")
check "node1's relay process is the cached amd64 relay itself" \
  grep -q "/$(basename "$(cached_relay node1)")\$" <(sed -n 1p <<<"$x86_exe")
for n in "${ARM[@]}"; do
  check "$n: --force warns once that app:1 (amd64) goes onto this arm64 node" \
    [ "$(grep -cF "$n: --force: loading app:1, built for amd64, onto this arm64 node" <<<"$OUT")" = 1 ]
done
check "no such warning for the x86 nodes" bash -c '! grep -E "(node1|node4): --force: loading" <<<"$1"' _ "$OUT"
report=$SRC_TMP/report.json
check "the report is valid" valid_report "$report"
check "every node loaded" [ "$(report "$report" '" ".join(n["outcome"] for n in r["nodes"])')" = "loaded loaded loaded loaded" ]
check "the chain: x86 node1 fed arm64 node2, which fed arm64 node3, which fed x86 node4" \
  [ "$(report "$report" '" ".join(n["name"] + "<" + str(n["parent"]) for n in r["nodes"])')" = \
    "node1<source node2<node1 node3<node2 node4<node3" ]
check "every node's runtime shows app:1 with the source's config digest" every_node_finds app:1
assert_clean
done_testing
