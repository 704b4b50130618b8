#!/usr/bin/env bash
# The mixed lab of runtimes.sh (8 nodes, two each of Docker 20.10, Docker 26
# on the containerd store, containerd alone and podman) fed by a source on
# Docker 26 with the containerd image store, Docker 29's default: there the
# source's image IDs are manifest digests and docker save writes compressed
# blobs, yet every node must end with the image's config digest. A fresh
# image and a one-layer update in one tree, every kind parent and child;
# status shows every node. Its own lab, after the shared one is down.
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-rt 8 --runtimes docker,docker-containerd,containerd,podman --source-docker 26 --source-store containerd


check "the source keeps images in containerd" grep -q snapshotter <<<"$("$LAB" exec source docker info --format '{{json .DriverStatus}}')"
ensure_image app:1 12
ensure_image app:2 4 app:1
check "(the source's image ID is not the config digest there)" \
  [ "$(source_id app:1)" != "$("$LAB" image-id source app:1)" ]

echo "# fresh, one tree over every kind of node"
run_ts --image app:1 --mode tree --fanout 1 --json /root/fresh.json
check "exits 0" rc_is 0
check "every node's runtime finds app:1 with the config digest" every_node_finds app:1
check "the report's image ID is the config digest" \
  [ "$(report "$SRC_HOME/fresh.json" "r['images'][0]['id']")" = "$("$LAB" image-id source app:1)" ]

echo "# update: one layer"
run_ts --image app:2 --mode tree --fanout 1 --json /root/upd.json
check "exits 0" rc_is 0
check "every node's runtime finds app:2 with the config digest" every_node_finds app:2
check "each node loaded one layer" [ "$(report "$SRC_HOME/upd.json" "sorted(set(n['layers'] for n in r['nodes']))")" = "[1]" ]

echo "# status"
run_ts status --images app:1 app:2
check "status exits 0: every node has both" rc_is 0
check "it lists all 8 nodes with their runtime" [ "$(grep -cE '^node[0-9] .*(Docker|containerd|podman) .*present +present' <<<"$OUT")" = 8 ]
assert_clean
done_testing
