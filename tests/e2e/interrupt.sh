#!/usr/bin/env bash
# Ctrl-C (and SIGTERM) mid-transfer: every relay exits, no spool or temp file
# remains on any node, no tag is applied, and treesync exits 130 (143).
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
done_testing
