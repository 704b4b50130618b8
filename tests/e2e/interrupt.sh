#!/usr/bin/env bash
# Ctrl-C (and SIGTERM) mid-transfer, and while the layer cache is filled
# (from Docker's layer store, or by docker save): every relay exits, no
# spool or temp file remains on any node or in the cache, no tag is
# applied, and treesync exits 130 (143).
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

# interrupted_fill HOW CACHE MESSAGE: SIGINT while treesync fills CACHE
# (as this machine sees it) with big:1, which it lacks; HOW (a shell test)
# says when the fill is under way.
interrupted_fill() {
  reset_nodes
  local top; top=$("$LAB" exec source docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' big:1 | awk '{print $NF}')
  rm -f "$2/configs/$(source_id big:1 | cut -d: -f2).json" "$2/layers/${top#sha256:}".tar*   # so the run must fill it
  start_ts --image big:1 --mode flat
  for i in $(seq 400); do bash -c "$1" _ "$2" && break; sleep 0.025; done
  bash -c "$1" _ "$2" || fail "the fill never started"
  kill -INT "$(pgrep -f "^$TS --inventory" | head -1)"
  wait_ts
  check "exit status 130" rc_is 130
  check "it says the fill was interrupted" out_has "$3"
  check "big:1 is not half in the cache" [ ! -e "$2/configs/$(source_id big:1 | cut -d: -f2).json" ]
  check "no temp file is left in the cache" bash -c '! ls -A "$1/layers" | grep -q "^\.saving-"' _ "$2"
  for n in "${NODES[@]}"; do check "$n has no big:1 tag" [ "$(node_id "$n" big:1)" = none ]; done
  assert_clean
}
echo "# interrupted while Docker's layer store fills the layer cache"
interrupted_fill 'ls -A "$1/layers" | grep -q "^\.saving-"' "$SRC_HOME/.cache/treesync" \
  "interrupted while reading layers into the layer cache"
echo "# interrupted while docker save fills the layer cache (a user who cannot read Docker's layer store)"
as_docker_user
trap '"$LAB" shape off; as_root' EXIT
interrupted_fill 'pgrep -f "^docker save sha256:" >/dev/null' "$USER_CACHE" \
  "interrupted while saving images into the layer cache"
check "no docker save left running" bash -c '! pgrep -f "^docker save sha256:"'
as_root
done_testing
