#!/usr/bin/env bash
# Ctrl-C (and SIGTERM) mid-transfer, and during the save into the layer
# cache: every relay exits, no spool or temp file remains on any node or in
# the cache, no tag is applied, and treesync exits 130 (143).
. "$(dirname "$0")/lib.sh"
ensure_image big:1 120
reset_nodes
"$LAB" shape 80mbit
trap '"$LAB" shape off' EXIT

interrupt_with() {  # SIGNAL EXPECTED_STATUS MODE
  reset_nodes
  "$LAB" exec source "$TS" --inventory "$INV" --image big:1 --mode "$3" --fanout 2 >"$TREESYNC_LAB_DIR/int.out" 2>&1 &
  local job=$! pid="" i
  # Wait until bytes are flowing to the nodes, then interrupt.
  for i in $(seq 100); do
    ls "$TREESYNC_LAB_DIR"/hosts/node*/root/.cache/treesync/run-*/archive.spool >/dev/null 2>&1 && break
    sleep 0.1
  done
  sleep 1
  pid=$(pgrep -f "^$TS --inventory" | head -1)
  [ -n "$pid" ] || fail "treesync was not running"
  kill -"$1" "$pid"
  set +e; wait "$job"; RC=$?; set -e
  OUT=$(cat "$TREESYNC_LAB_DIR/int.out"); printf '%s\n' "$OUT" | sed 's/^/  | /'
  check "SIG$1 in $3 mode exits $2" rc_is "$2"
  check "the summary says which nodes were not done" grep -qE 'interrupted' <<<"$OUT"
  for n in "${NODES[@]}"; do
    check "$n has no big:1 tag" [ "$(node_id "$n" big:1)" = none ]
  done
  assert_clean
}
interrupt_with INT 130 flat
interrupt_with TERM 143 flat
interrupt_with INT 130 tree

echo "# interrupted while docker save fills the layer cache"
reset_nodes
rm -f "$SRC_HOME/.cache/treesync/configs/$(source_id big:1 | cut -d: -f2).json"   # so the run must save
"$LAB" exec source "$TS" --inventory "$INV" --image big:1 --mode flat >"$TREESYNC_LAB_DIR/int.out" 2>&1 &
job=$!
for i in $(seq 200); do pgrep -f '^docker save sha256:' >/dev/null && break; sleep 0.05; done
pgrep -f '^docker save sha256:' >/dev/null || fail "docker save never started"
kill -INT "$(pgrep -f "^$TS --inventory" | head -1)"
set +e; wait "$job"; RC=$?; set -e
OUT=$(cat "$TREESYNC_LAB_DIR/int.out"); printf '%s\n' "$OUT" | sed 's/^/  | /'
check "exit status 130" rc_is 130
check "it says the save was interrupted" out_has "interrupted while saving images into the layer cache"
check "no docker save left running" bash -c '! pgrep -f "^docker save sha256:"'
check "big:1 is not half in the cache" [ ! -e "$SRC_HOME/.cache/treesync/configs/$(source_id big:1 | cut -d: -f2).json" ]
for n in "${NODES[@]}"; do check "$n has no big:1 tag" [ "$(node_id "$n" big:1)" = none ]; done
assert_clean
done_testing
