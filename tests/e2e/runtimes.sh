#!/usr/bin/env bash
# Every runtime a 2026 cluster runs, in one lab of its own (8 nodes, two of
# each): Debian 12's Docker 20.10 (classic store), Docker 26 with the
# containerd image store, containerd 1.6 alone (namespace k8s.io, as on a
# Kubernetes node) and podman 4.3. One tree carries every kind as parent and
# child; each node is checked with its own runtime's tools: the image its
# name finds has the source's config digest. Then an update (one layer),
# a skip, tag-only, a tag pointing at the wrong image, and a tampered layer
# that leaves nothing tagged and no half-imported image. It runs alone,
# never beside the shared 6-node lab (scripts/lab refuses a second lab).
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-rt 8 --runtimes docker,docker-containerd,containerd,podman

runtime_of() { cat "$TREESYNC_LAB_DIR/hosts/$1/runtime"; }
DOCKER_CTR=(ctr --address /run/docker/containerd/containerd.sock --namespace moby)
K8S_CTR=(ctr --namespace k8s.io)
# No digest names or incomplete images left on the containerd-based nodes.
containerd_tidy() {
  local n
  for n in "${NODES[@]}"; do
    case $(runtime_of "$n") in
      containerd) c=("${K8S_CTR[@]}") ;;
      docker-containerd) c=("${DOCKER_CTR[@]}") ;;
      *) continue ;;
    esac
    if "$LAB" exec "$n" "${c[@]}" images check | awk 'NR > 1' | grep -vq ' complete '; then
      echo "  $n: an incomplete image"; return 1
    fi
    if "$LAB" exec "$n" "${c[@]}" images ls -q | grep -E '^(import-|moby-dangling)'; then
      echo "  $n: a digest name left"; return 1
    fi
  done
}
ensure_image app:1 12
ensure_image app:2 4 app:1   # app:1 plus one 4 MiB layer

echo "# status names every node's runtime"
run_ts status --image app:1
for n in "${NODES[@]}"; do
  case $(runtime_of "$n") in
    docker) want='Docker 20\.10.* \(classic\)' ;;
    docker-containerd) want='Docker 26\..* \(containerd\)' ;;
    containerd) want='containerd 1\.6.* \(namespace k8s\.io\)' ;;
    podman) want='podman 4\.3.* \(overlay|vfs\)' ;;
  esac
  check "$n: status shows $(runtime_of "$n")" grep -qE "^$n .*$want .* missing" <<<"$OUT"
done

echo "# the plan names each node's runtime"
run_ts --image app:1 --mode tree --fanout 1 --dry-run
check "dry run exits 0" rc_is 0
check "node2's line says Docker 26 on the containerd store" grep -qE '^ +node2 \(198\.18\.0\.12, Docker 26\..* \(containerd\)' <<<"$OUT"
check "node4's line says podman" grep -qE '^ +node4 \(198\.18\.0\.14, podman 4\.3' <<<"$OUT"

echo "# fresh: one tree, every kind of node parent and child"
run_ts --image app:1 --mode tree --fanout 1 -v --json /root/fresh.json
check "exits 0" rc_is 0
check "every node's runtime finds app:1 with the source's config digest" every_node_finds app:1
J="$SRC_HOME/fresh.json"
check "the report names each node's runtime" \
  [ "$(report "$J" "sorted(set(n['runtime']['name'] + '/' + n['runtime']['store'] for n in r['nodes']))")" = \
    "['containerd/k8s.io', 'docker/classic', 'docker/containerd', 'podman/$(report "$J" "[n['runtime']['store'] for n in r['nodes'] if n['runtime']['name'] == 'podman'][0]")']" ]
kinds="import json, sys
r = json.load(open(sys.argv[1])); kind = {}
for n in r['nodes']: kind[n['name']] = n['runtime']['name'] + '/' + n['runtime']['store']
parents = {kind[n['parent']] for n in r['nodes'] if n['parent'] in kind}
children = {kind[n['name']] for n in r['nodes'] if n['parent'] in kind}
print(len(set(kind.values())), len(parents), len(children))"
check "each of the 4 kinds fed a node and was fed by one" [ "$(python3 -c "$kinds" "$J")" = "4 4 4" ]
for n in "${NODES[@]}"; do
  [ "$(runtime_of "$n")" = containerd ] || continue
  check "$n: app:1 is pinned against kubelet's garbage collection" \
    grep -q 'io.cri-containerd.pinned=pinned' <<<"$("$LAB" exec "$n" "${K8S_CTR[@]}" images ls name==docker.io/library/app:1)"
done
check "no digest name or incomplete image left on containerd-based nodes" containerd_tidy
assert_clean

echo "# update: app:2 adds one layer"
run_ts --image app:2 --mode tree --fanout 1 --json /root/upd.json
check "exits 0" rc_is 0
check "every node's runtime finds app:2 with the source's config digest" every_node_finds app:2
check "each node loaded one layer, whatever its runtime" [ "$(report "$SRC_HOME/upd.json" "sorted(set(n['layers'] for n in r['nodes']))")" = "[1]" ]
check "app:1 is still there too" every_node_finds app:1
check "no digest name or incomplete image left" containerd_tidy

echo "# again: every node is skipped"
run_ts --image app:2 --mode tree --fanout 1
check "exits 0" rc_is 0
check "all 8 skipped" out_has "8 node(s): 0 loaded, 0 tagged, 8 skipped, 0 failed"

echo "# a new name for a present image: tag only"
"$LAB" exec source docker tag app:2 app:stable
run_ts --image app:stable --mode tree --fanout 1
check "exits 0" rc_is 0
check "all 8 tagged, nothing loaded" out_has "8 node(s): 0 loaded, 8 tagged, 0 skipped, 0 failed"
check "every node finds app:stable" every_node_finds app:stable

echo "# app:1 on every node pointed at app:2's image: fixed, not skipped"
for n in "${NODES[@]}"; do
  case $(runtime_of "$n") in
    docker|docker-containerd) "$LAB" exec "$n" docker tag app:2 app:1 ;;
    containerd) "$LAB" exec "$n" "${K8S_CTR[@]}" images tag --force docker.io/library/app:2 docker.io/library/app:1 >/dev/null ;;
    podman) "$LAB" exec "$n" podman tag app:2 app:1 ;;
  esac
done
check "(every node now finds app:2's image under app:1)" [ "$("$LAB" image-id node3 app:1)" = "$(source_id app:2)" ]
run_ts --image app:1 --mode tree --fanout 1
check "exits 0" rc_is 0
check "all 8 tagged" out_has "8 node(s): 0 loaded, 8 tagged, 0 skipped, 0 failed"
check "every node finds app:1 with app:1's config digest again" every_node_finds app:1

echo "# a tampered layer: every load fails, nothing is tagged, nothing half-imported"
ensure_image app:3 3 app:2
run_ts --image app:3 --force --dry-run   # app:3's layers into the cache
top=$("$LAB" exec source docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' app:3 | awk '{print $NF}')
layer=$(ls "$SRC_HOME"/.cache/treesync/layers/"${top#sha256:}".tar*)
cp "$layer" "$layer.good"
trap 'mv -f "$layer.good" "$layer" 2>/dev/null || true; "$ROOT/scripts/lab" down >/dev/null 2>&1 || true' EXIT
head -c "$(stat -c %s "$layer")" /dev/urandom >"$layer"
run_ts --image app:3 --mode flat
check "exit status 1" rc_is 1
check "every node failed at verify" [ "$(grep -cE '^node[0-9]+ .* failed .*verify: .*failed its SHA-256 check 3 times' <<<"$OUT")" = 8 ]
for n in "${NODES[@]}"; do check "$n ($(runtime_of "$n")) has no app:3" [ "$("$LAB" image-id "$n" app:3)" = none ]; done
check "no digest name or incomplete image left" containerd_tidy
mv -f "$layer.good" "$layer"
run_ts --image app:3 --mode tree --fanout 1
check "with the layer restored it loads everywhere" every_node_finds app:3
assert_clean

echo "# an image built for another platform: every node refuses it before a byte is sent"
# A docker-archive written by hand: one layer, a config that says arm64.
python3 - "$TREESYNC_LAB_DIR/arm.tar" <<'PY'
import hashlib, io, json, sys, tarfile
def tar_of(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        for name, data in files.items():
            i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
    return b.getvalue()
layer = tar_of({"hello.txt": b"built for arm64\n"})
diff = hashlib.sha256(layer).hexdigest()
config = json.dumps({"architecture": "arm64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]}}).encode()
cfg = hashlib.sha256(config).hexdigest()
manifest = json.dumps([{"Config": cfg + ".json", "RepoTags": ["armapp:1"], "Layers": [diff + "/layer.tar"]}]).encode()
open(sys.argv[1], "wb").write(tar_of({"manifest.json": manifest, cfg + ".json": config, diff + "/layer.tar": layer}))
PY
"$LAB" exec source docker load -i "$TREESYNC_LAB_DIR/arm.tar" >/dev/null
check "(the source's armapp:1 says arm64)" [ "$("$LAB" exec source docker image inspect -f '{{.Architecture}}' armapp:1)" = arm64 ]
run_ts --image armapp:1 --mode tree --fanout 2
check "exit status 1" rc_is 1
check "every node failed at platform, naming both" \
  [ "$(grep -cE '^node[0-9]+ .* failed .*platform: armapp:1 is built for arm64, this node is amd64' <<<"$OUT")" = 8 ]
check "and nothing was sent" out_has "source sent 0 B"
assert_clean

echo "# the runtime the inventory names is down: one line at the probe"
sed 's/^    host: 198.18.0.13$/    host: 198.18.0.13\n    runtime: containerd/' "$INV" >"$SRC_HOME/containerd-down.yaml"
check "(the inventory names node3's runtime)" grep -q 'runtime: containerd' "$SRC_HOME/containerd-down.yaml"
"$LAB" runtime-stop node3
set +e
OUT=$("$LAB" exec source "$TS" --inventory /root/containerd-down.yaml status --image app:1 2>&1); RC=$?
set -e
printf '%s\n' "$OUT" | sed 's/^/  | /'
"$LAB" runtime-start node3
check "status exits 1" rc_is 1
check "node3 is reported with containerd's socket and its error" \
  grep -qE '^node3 .*probe: containerd at /run/containerd/containerd.sock does not answer' <<<"$OUT"
check "the other nodes are still shown" grep -qE '^node7 .*containerd 1\.6' <<<"$OUT"
assert_clean
done_testing
