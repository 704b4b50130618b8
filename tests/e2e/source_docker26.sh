#!/usr/bin/env bash
# A source running Docker 26 (Debian 13's, classic store), whose docker save
# writes OCI layout (blobs/sha256/..., index.json, oci-layout): its own small
# lab (source + 2 nodes on Debian 12's 20.10), brought up here and taken down
# on exit. Flat and tree runs give every node the source's config digest as
# image ID, reading Docker 26's layer store as root and its docker save as a
# user who cannot read it; an update sends about its one new layer. It runs
# alone, never beside the shared 6-node lab (scripts/lab refuses a second lab).
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-d26 2 --source-docker 26

# report FILE EXPR: a Python expression over the JSON report r.
src_pid=$(cat "$TREESYNC_LAB_DIR/hosts/source/pid")

echo "# the source runs Docker 26 with the classic store"
check "the source's daemon is 26.x" grep -q '^26\.' <<<"$("$LAB" exec source docker version --format '{{.Server.Version}}')"
check "the nodes' daemons are 20.10" grep -q '^20\.10\.' <<<"$("$LAB" exec node1 docker version --format '{{.Server.Version}}')"
check "classic store: no containerd snapshotter" \
  bash -c '! grep -q snapshotter <<<"$1"' _ "$("$LAB" exec source docker info --format '{{json .DriverStatus}}')"
ctrd=$(pgrep --ns "$src_pid" --nslist net -x containerd | head -1)
check "dockerd 26 runs its own containerd (1.7, from /opt/treesync-lab/docker26)" \
  grep -q '^/opt/treesync-lab/docker26/' <<<"$(readlink "/proc/$ctrd/exe")"

ensure_image d26/app:1 12
ensure_image d26/app:2 4 d26/app:1   # d26/app:1 plus one 4 MiB layer
# The config digest, read from the save's own manifest.json (its Config
# is blobs/sha256/<config>): on the classic store it is also .Id.
config_digest() {
  "$LAB" exec source sh -c "docker save $1 | tar -xOf - manifest.json" |
    python3 -c 'import json, sys; print("sha256:" + json.load(sys.stdin)[0]["Config"].split("/")[-1])'
}
listing=$("$LAB" exec source sh -c 'docker save d26/app:1 | tar -tf -')
check "docker save on the source writes OCI layout" grep -qx oci-layout <<<"$listing"
check "and no layer.tar" bash -c '! grep -q layer.tar <<<"$1"' _ "$listing"
want=$(config_digest d26/app:1)
check "the source's .Id is the config digest" [ "$(source_id d26/app:1)" = "$want" ]

echo "# flat"
reset_nodes
run_ts --image d26/app:1 --mode flat -v
check "flat run exits 0" rc_is 0
check "it read Docker 26's layer store, no docker save" \
  out_has "no docker save: 2 layer(s) and 1 config(s) read from Docker's layer store"
check "every node shows d26/app:1 with the source's config digest" all_nodes_have d26/app:1
assert_clean
run_ts --image d26/app:1 --mode flat --force
check "--force run exits 0" rc_is 0
check "a second run saves nothing: every layer is cached" out_has "no docker save: every layer was cached"

echo "# flat, as a user in the docker group: Docker 26's docker save (OCI layout) fills its cache"
reset_nodes
as_docker_user
trap 'as_root; "$ROOT/scripts/lab" down >/dev/null 2>&1 || true' EXIT
run_ts --image d26/app:1 --mode flat -v
check "flat run exits 0" rc_is 0
check "it saved into the layer cache" out_has "saving 1 image(s) into the layer cache"
check "every node shows d26/app:1 with the source's config digest" all_nodes_have d26/app:1
as_root
assert_clean

echo "# tree"
reset_nodes
rm -rf "$SRC_HOME/.cache/treesync/layers" "$SRC_HOME/.cache/treesync/configs"
run_ts --image d26/app:1 --mode tree --fanout 1 -v
check "tree run exits 0" rc_is 0
check "it ran as a tree" out_has "mode: tree"
check "every node shows d26/app:1 with the source's config digest" all_nodes_have d26/app:1
assert_clean

echo "# update: d26/app:2 adds one layer"
run_ts --image d26/app:2 --mode tree --fanout 1 -v --json /root/upd.json
check "update exits 0" rc_is 0
check "every node shows d26/app:2 with the source's config digest" all_nodes_have d26/app:2
check "(and it is d26/app:2's config digest)" [ "$(source_id d26/app:2)" = "$(config_digest d26/app:2)" ]
check "its new layer and config came from Docker 26's layer store" \
  out_has "no docker save: 1 layer(s) and 1 config(s) read from Docker's layer store"
check "each node loaded one layer" [ "$(report "$SRC_HOME/upd.json" "sorted(set(n['layers'] for n in r['nodes']))")" = "[1]" ]
top=$("$LAB" exec source docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' d26/app:2 | awk '{print $NF}')
layer=$(stat -c %s "$SRC_HOME"/.cache/treesync/layers/"${top#sha256:}".tar*)
payload=$(report "$SRC_HOME/upd.json" "r['source_bytes']")
echo "  new layer: $layer bytes as sent; the source sent $payload bytes of stream"
check "the source sent about that layer (<= 1.1 x, fanout 1)" [ "$payload" -le $((layer * 11 / 10)) ]
assert_clean
done_testing
