#!/usr/bin/env bash
# Stage, then activate, on one node of each runtime (Docker 20.10 classic,
# Docker 26 on the containerd store, containerd 1.6 as on Kubernetes, podman
# 4.3), in a lab of its own. Each node's own runtime is asked: after stage
# the staged name finds the source's image and app:1 finds nothing (on
# containerd the staged name is pinned); after activate app:1 finds it (pinned
# on containerd) and the staged name is gone. It runs alone, never beside
# the shared 6-node lab (scripts/lab refuses a second lab).
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-rt 4 --runtimes docker,docker-containerd,containerd,podman

STAGED=treesync.invalid/docker.io/library/app/treesync-staged:1
K8S_CTR=(ctr --namespace k8s.io)
ensure_image app:1 8
WANT=$("$LAB" image-id source app:1)
# every_node REF WANT: each node's own runtime says REF names WANT ("none": nothing).
every_node() {
  local n got
  for n in "${NODES[@]}"; do
    got=$("$LAB" image-id "$n" "$1")
    [ "$got" = "$2" ] || { echo "  $n ($("$LAB" runtime "$n")): $1 is $got, want $2"; return 1; }
  done
}
pinned() { grep -q 'io.cri-containerd.pinned=pinned' <<<"$("$LAB" exec node3 "${K8S_CTR[@]}" images ls "name==$1")"; }

echo "# stage: a tree through every kind of node"
run_ts stage --image app:1 --mode tree --fanout 1
check "exit 0" rc_is 0
check "every runtime finds the staged name with the source's config digest" every_node "$STAGED" "$WANT"
check "no runtime finds app:1" every_node app:1 none
check "containerd (node3): the staged name is pinned against kubelet's garbage collection" pinned "$STAGED"

echo "# activate"
run_ts activate --image app:1 --json /root/activate.json
check "exit 0" rc_is 0
check "every runtime finds app:1 with the source's config digest" every_node app:1 "$WANT"
check "no runtime keeps the staged name" every_node "$STAGED" none
check "containerd (node3): app:1 is pinned" pinned docker.io/library/app:1
check "4 nodes tagged" [ "$(report "$SRC_HOME/activate.json" "r['activation']['nodes']")" = 4 ]
echo "  activation spread across the four runtimes: $(report "$SRC_HOME/activate.json" "r['activation']['spread_seconds']") s"
assert_clean
done_testing
