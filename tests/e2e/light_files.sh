#!/usr/bin/env bash
# The control plane's cost on the source does not grow with the node count
# (issue 13): a files rollout in a tree to 64 --light nodes (sshd only, no
# bastion: a jump host's tunnels have threads of their own) puts the file on
# every node, as each node's own sha256sum shows, and the source's peak
# thread count (--json source_cost, sampled every 100 ms) stays under a
# bound set by --max-workers alone: relays' control channels are served by
# a few threads, not one per node (it was 64 + the workers here).
set -euo pipefail
N=64
WORKERS=8
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-light-files $N --light
PAYLOAD="$TREESYNC_LAB_DIR/hosts/source/tmp/payload"  # /tmp/payload on the source
DEST=/root/data
rm -rf "$PAYLOAD"
mkdir -p "$PAYLOAD"
head -c $((4 << 20)) /dev/urandom >"$PAYLOAD/blob.bin"
WANT=$(sha256sum "$PAYLOAD/blob.bin" | cut -d' ' -f1)

run_ts --files /tmp/payload/blob.bin --dest $DEST --mode tree --max-workers $WORKERS --json /tmp/light.json
check "files rollout to $N light nodes exits 0" rc_is 0
check "$N nodes loaded" out_has "$N node(s): $N loaded"
every_node_has_blob() {
  local n got
  for n in "${NODES[@]}"; do
    got=$("$LAB" exec "$n" sha256sum $DEST/blob.bin | cut -d' ' -f1)
    [ "$got" = "$WANT" ] || { echo "  $n: $DEST/blob.bin is '$got', the source's '$WANT'"; return 1; }
  done
}
check "every node holds the file with the source's SHA-256" every_node_has_blob
R="$TREESYNC_LAB_DIR/hosts/source/tmp/light.json"
check "the report validates against docs/report.schema.json" valid_report "$R"
threads=$(report "$R" "r['source_cost']['peak_threads']")
echo "  source peak threads: $threads for $N nodes, --max-workers $WORKERS"
# The control plane's threads (at most max(4, workers)), the source's edges
# (at most workers), the probe's pool (workers, joined before delivery),
# and a handful of fixed ones (main, progress, the cost sampler).
BOUND=$((2 * WORKERS + 8))
check "the source's peak threads ($threads) stay under $BOUND, whatever the node count" [ "$threads" -le $BOUND ]
done_testing
