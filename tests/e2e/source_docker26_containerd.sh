#!/usr/bin/env bash
# A source running Docker 26 with the containerd image store (Debian 13's
# dockerd, containerd-snapshotter on; the default of Docker 29): its image
# IDs are manifest digests and its docker save writes gzip layer blobs. Its
# own small lab (source + 2 nodes on Debian 12's 20.10, classic store),
# brought up here and taken down on exit. Every node must show each image
# with the source's CONFIG digest as its ID, tagged as the operator typed
# it, whether treesync reads the images through Docker's containerd (ctr,
# as root) or, when ctr cannot reach it (as for a user who is not root),
# through docker save; an update sends about its one new layer. It runs
# alone, never beside the shared lab (scripts/lab refuses a second lab).
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-d26c 2 --source-docker 26 --source-store containerd

CACHE="$SRC_HOME/.cache/treesync"
clear_cache() { rm -rf "$CACHE/layers" "$CACHE/configs" "$CACHE/targets"; }

# A ctr that fails as ctr does for a user who may not open containerd's
# socket: treesync must then learn everything from docker save.
NOCTR="$TREESYNC_LAB_DIR/noctr"
mkdir -p "$NOCTR"
printf '#!/bin/sh\necho "ctr: failed to dial \\"/run/containerd/containerd.sock\\": permission denied" >&2\nexit 1\n' >"$NOCTR/ctr"
chmod 755 "$NOCTR/ctr"
WITHOUT_CTR=("PATH=$NOCTR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")

# The config digest, read from the save's own manifest.json (its Config is
# blobs/sha256/<config>); on this store .Id is the manifest digest.
config_digest() {
  "$LAB" exec source sh -c "docker save $1 | tar -xOf - manifest.json" |
    python3 -c 'import json, sys; print("sha256:" + json.load(sys.stdin)[0]["Config"].split("/")[-1])'
}
# Every node shows REF with ID (the config digest), tagged REF.
all_nodes_show() {
  local ref=$1 want=$2 n
  for n in "${NODES[@]}"; do
    [ "$(node_id "$n" "$ref")" = "$want" ] || { echo "  $n: $ref is $(node_id "$n" "$ref"), want $want"; return 1; }
    node_has_tag "$n" "$want" "$ref" || { echo "  $n: $want is not tagged $ref"; return 1; }
  done
}

echo "# the source runs Docker 26 with the containerd image store"
check "the source's daemon is 26.x" grep -q '^26\.' <<<"$("$LAB" exec source docker version --format '{{.Server.Version}}')"
check "the nodes' daemons are 20.10" grep -q '^20\.10\.' <<<"$("$LAB" exec node1 docker version --format '{{.Server.Version}}')"
check "containerd store: driver-type io.containerd.snapshotter.v1" \
  grep -q 'io.containerd.snapshotter.v1' <<<"$("$LAB" exec source docker info --format '{{json .DriverStatus}}')"

ensure_image d26c/app:1 12
ensure_image d26c/app:2 4 d26c/app:1   # d26c/app:1 plus one 4 MiB layer
ensure_image d26c/web:1 3
cfg1=$(config_digest d26c/app:1)
cfg2=$(config_digest d26c/app:2)
cfgw=$(config_digest d26c/web:1)
check "the source's .Id is not the config digest (it is the manifest's)" [ "$(source_id d26c/app:1)" != "$cfg1" ]
listing=$("$LAB" exec source sh -c 'docker save d26c/app:1 | tar -tf -')
check "docker save writes OCI layout" grep -qx oci-layout <<<"$listing"
first_layer=$("$LAB" exec source sh -c "docker save d26c/app:1 | tar -xOf - manifest.json" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Layers"][-1])')
check "its layer blobs are gzip (blob digest is not the diff ID)" \
  [ "$("$LAB" exec source sh -c "docker save d26c/app:1 | tar -xOf - $first_layer | head -c 2 | od -An -tx1 | tr -d ' '")" = 1f8b ]

echo "# fresh, read through Docker's containerd (ctr content get, as root)"
reset_nodes
clear_cache
run_ts --image d26c/app:1 --mode flat -v
check "run exits 0" rc_is 0
check "it read the images from Docker's containerd" out_has "reading images from its containerd at /run/docker/containerd/containerd.sock"
check "it read the layers blob by blob, no docker save" out_has "only the layers it lacks"
check "every node shows d26c/app:1 with the config digest as ID, tagged" all_nodes_show d26c/app:1 "$cfg1"
assert_clean

echo "# fresh, through docker save (ctr cannot reach the socket)"
reset_nodes
clear_cache
TS_ENV=("${WITHOUT_CTR[@]}")
run_ts --images d26c/app:1 d26c/web:1 --mode tree --fanout 1 -v
check "run exits 0" rc_is 0
check "the config digests came from one docker save" out_has "their config digests come from one docker save"
check "and nothing was saved twice" bash -c '[ "$(grep -c "saving .* into the layer cache" <<<"$1")" = 0 ]' _ "$OUT"
check "every node shows d26c/app:1 with the config digest as ID, tagged" all_nodes_show d26c/app:1 "$cfg1"
check "every node shows d26c/web:1 with the config digest as ID, tagged" all_nodes_show d26c/web:1 "$cfgw"
check "the cache recorded the manifest -> config mapping" \
  grep -qx "$cfg1" "$CACHE/targets/$(source_id d26c/app:1 | cut -d: -f2).linux-amd64"
run_ts --image d26c/app:1 --force -v
check "a second run exits 0" rc_is 0
check "it saves nothing: the record names the config" out_has "(recorded by an earlier save)"
check "and every layer is cached" out_has "no docker save: every layer was cached"
TS_ENV=()
assert_clean

echo "# update through Docker's containerd: d26c/app:2 adds one layer"
run_ts --image d26c/app:2 --mode tree --fanout 1 -v --json /root/upd.json
check "update exits 0" rc_is 0
check "it read only the new layer" out_has "only the layers it lacks"
check "every node shows d26c/app:2 with the config digest as ID, tagged" all_nodes_show d26c/app:2 "$cfg2"
check "each node loaded one layer" [ "$(report "$SRC_HOME/upd.json" "sorted(set(n['layers'] for n in r['nodes']))")" = "[1]" ]
top=$("$LAB" exec source docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' d26c/app:2 | awk '{print $NF}')
layer=$(stat -c %s "$CACHE"/layers/"${top#sha256:}".tar*)
payload=$(report "$SRC_HOME/upd.json" "r['source_bytes']")
echo "  new layer: $layer bytes as sent; the source sent $payload bytes of stream"
check "the source sent about that layer (<= 1.1 x, fanout 1)" [ "$payload" -le $((layer * 11 / 10)) ]
assert_clean

echo "# an image that is not there"
run_ts --image d26c/nope:1 --dry-run
check "exit 2, one line naming the image and the fix" \
  bash -c 'rc=$1; [ "$rc" = 2 ] && grep -q "image d26c/nope:1 is not in the local Docker (check with: docker images d26c/nope:1; pull or build it first" <<<"$2"' _ "$RC" "$OUT"
done_testing
