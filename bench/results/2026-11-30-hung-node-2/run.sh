# As root, under the lab lock: flock /tmp/treesync-lab.lock bash run.sh [BUILD_DIR]
# The same setup as ../2026-11-30-hung-node/run.sh, with this tree's build;
# each run's --json report lands here, its -v log and --events in /tmp.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}  # where the reports land (../2026-12-01-hung-node-3 gives its own); default beside this script
mkdir -p "$OUT"
cd "$HERE/../../.."
BUILD=${1:-build}
export TREESYNC_LAB_DIR=/var/lib/treesync-lab-hung
L=scripts/lab
$L down >/dev/null 2>&1 || true
$L up 8 >/dev/null
trap '$L down >/dev/null 2>&1' EXIT
TS=$($L bin "$BUILD")
$L image bench/app:1 175 >/dev/null
$L shape 200mbit
INV=$TREESYNC_LAB_DIR/treesync.yaml
wipe() { for i in $(seq 8); do $L exec node$i sh -c 'docker rmi -f bench/app:1 >/dev/null 2>&1; true'; done; }
run() {
  local name=$1; shift
  $L exec source "$TS" --inventory "$INV" --image bench/app:1 --json /root/r.json -v --events /root/events.jsonl "$@" \
    >"/tmp/hung2-$name.log" 2>&1 || true
  cp "$TREESYNC_LAB_DIR/hosts/source/root/r.json" "$OUT/$name.json"
  cp "$TREESYNC_LAB_DIR/hosts/source/root/events.jsonl" "/tmp/hung2-$name.events.jsonl"
}
$L exec source "$TS" --inventory "$INV" --image bench/app:1 --dry-run >/dev/null 2>&1 || true   # relays shipped, cache warm
for k in 1 2; do
  wipe; run hung-base-$k
  wipe
  d=$(pgrep --ns "$(cat $TREESYNC_LAB_DIR/hosts/node3/pid)" --nslist net -x dockerd)
  kill -STOP "$d"
  run hung-stop-$k --probe-timeout 60
  kill -CONT "$d"
done
# The other 7 nodes' slowest and node3, per run.
python3 - "$OUT" <<'PY'
import json, sys
for k in (1, 2):
    base = json.load(open(f"{sys.argv[1]}/hung-base-{k}.json"))
    stop = json.load(open(f"{sys.argv[1]}/hung-stop-{k}.json"))
    others = lambda r: max(n["seconds"] for n in r["nodes"] if n["name"] != "node3")
    n3 = lambda r: next((n["outcome"], n["seconds"], n["error"]) for n in r["nodes"] if n["name"] == "node3")
    print(f"run {k}: base others {others(base):.1f} s, mode {base['mode']}, node3 {n3(base)}; "
          f"hung others {others(stop):.1f} s ({others(stop) / others(base):.2f}x), mode {stop['mode']}, node3 {n3(stop)}")
PY
