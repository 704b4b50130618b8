set -euo pipefail
cd /work/main
export TREESYNC_LAB_DIR=/var/lib/treesync-lab-hung
L=scripts/lab
$L down >/dev/null 2>&1 || true
$L up 8 >/dev/null
trap '$L down >/dev/null 2>&1' EXIT
TS=$($L bin build)
$L image bench/app:1 175 >/dev/null
$L shape 200mbit
INV=$TREESYNC_LAB_DIR/treesync.yaml
wipe() { for i in $(seq 8); do $L exec node$i sh -c 'docker rmi -f bench/app:1 >/dev/null 2>&1; true'; done; }
run() { $L exec source "$TS" --inventory "$INV" --image bench/app:1 --json /root/r.json "$@" >/tmp/hung-run.log 2>&1 || true; cat $TREESYNC_LAB_DIR/hosts/source/root/r.json; }
$L exec source "$TS" --inventory "$INV" --image bench/app:1 --dry-run >/dev/null 2>&1 || true   # relays shipped, cache warm
for k in 1 2; do
  wipe; run > /tmp/hung-base-$k.json
  wipe
  d=$(pgrep --ns "$(cat $TREESYNC_LAB_DIR/hosts/node3/pid)" --nslist net -x dockerd)
  kill -STOP "$d"
  run --probe-timeout 60 > /tmp/hung-stop-$k.json
  kill -CONT "$d"
done
