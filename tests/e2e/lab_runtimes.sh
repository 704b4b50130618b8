#!/usr/bin/env bash
# The lab's mixed runtimes (scripts/lab up N --runtimes ...): its own lab of
# four nodes, one per runtime (docker 20.10, docker 26 on the containerd
# store, containerd 1.6 with no Docker, podman 4.3 with no daemon), brought up
# here and taken down at the end. Each node's runtime answers over SSH from
# the source; a hand-written OCI-layout archive (oci_archive.py) streamed over
# SSH loads on each, with the ID each runtime is known to give (config digest
# on classic Docker and podman, manifest digest on the containerd-based two),
# and so does one that leaves out the layers the node already has;
# runtime-stop/start stop and bring back each node's runtime; down leaves no
# process and no mount. It runs alone, never beside the shared 6-node lab.
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-rt 4 --runtimes docker,docker-containerd,containerd,podman
OCI="python3 $(dirname "$0")/oci_archive.py"
SRC_TMP="$TREESYNC_LAB_DIR/hosts/source/tmp"
# on NODE CMD...: run CMD on NODE over SSH from the source (the remote shell
# parses it: quote what holds spaces).
on() { local n=$1; shift; "$LAB" exec source ssh -o BatchMode=yes "$n" "$@"; }
# describe ARCHIVE_SAVE WHAT: the manifest or config digest oci_archive.py writes.
describe() { $OCI "$1" --describe | awk -v w="$2" '$1 == w {print $2}'; }
holder() { cat "$TREESYNC_LAB_DIR/hosts/$1/pid"; }
runs() { pgrep --ns "$(holder "$1")" --nslist net -x "$2" >/dev/null; }

echo "# each node runs its runtime, and only that one"
status=$("$LAB" status) || fail "lab status: $status"
printf '%s\n' "$status" | sed 's/^/  | /'
want=(docker docker-containerd containerd podman)
for i in 1 2 3 4; do
  check "node$i runs ${want[$((i - 1))]}" [ "$("$LAB" runtime "node$i")" = "${want[$((i - 1))]}" ]
  check "  status says so, and that it answers" grep -Eq "^node$i +[0-9.]+ +${want[$((i - 1))]} +up +up" <<<"$status"
done
check "node1: dockerd 20.10 over SSH" grep -q '^20\.10\.' <<<"$(on node1 docker version --format '{{.Server.Version}}')"
check "node2: dockerd 26 over SSH" grep -q '^26\.' <<<"$(on node2 docker version --format '{{.Server.Version}}')"
check "node2: on the containerd image store" grep -q io.containerd.snapshotter.v1 <<<"$(on node2 "docker info --format '{{json .DriverStatus}}'")"
check "node2: its containerd serves /run/docker/containerd/containerd.sock" on node2 ctr -a /run/docker/containerd/containerd.sock version
check "node3: containerd 1.6 answers ctr -n k8s.io over SSH" grep -q 'Version: *1\.6\.' <<<"$(on node3 ctr -n k8s.io version)"
check "node3: no dockerd" bash -c '! pgrep --ns "$1" --nslist net -x dockerd' _ "$(holder node3)"
check "node4: podman 4 over SSH" grep -q '^4\.' <<<"$(on node4 podman version --format '{{.Client.Version}}')"
check "node4: podman keeps images in /var/lib/containers/storage" \
  [ "$(on node4 podman info --format '{{.Store.GraphRoot}}')" = /var/lib/containers/storage ]
check "  which is in its host folder" [ -d "$TREESYNC_LAB_DIR/hosts/node4/containers/storage" ]
check "node4: no dockerd" bash -c '! pgrep --ns "$1" --nslist net -x dockerd' _ "$(holder node4)"

echo "# a hand-written OCI archive (uncompressed layers) loads on each, streamed over SSH"
ensure_image rt/app:1 6
ensure_image rt/app:2 2 rt/app:1
for t in 1 2; do "$LAB" exec source docker save "rt/app:$t" >"$SRC_TMP/app$t.save.tar"; done
$OCI "$SRC_TMP/app1.save.tar" -o "$SRC_TMP/app1.oci.tar"
$OCI "$SRC_TMP/app2.save.tar" --omit 0 --omit 1 -o "$SRC_TMP/app2.top.oci.tar"  # only rt/app:2's own layer
m1=$(describe "$SRC_TMP/app1.save.tar" manifest); c1=$(describe "$SRC_TMP/app1.save.tar" config)
m2=$(describe "$SRC_TMP/app2.save.tar" manifest); c2=$(describe "$SRC_TMP/app2.save.tar" config)
check "its config digest is the source's image ID" [ "$c1" = "$(source_id rt/app:1)" ]
# load NODE ARCHIVE: stream it into NODE's runtime; sets OUT and RC.
load() {
  local cmd
  case $1 in
    node1|node2) cmd='docker load' ;;
    node3) cmd='ctr -n k8s.io images import --digests -' ;;
    node4) cmd='podman load' ;;
  esac
  set +e; OUT=$("$LAB" exec source sh -c "ssh -o BatchMode=yes $1 '$cmd' < /tmp/$2" 2>&1); RC=$?; set -e
  printf '%s\n' "$OUT" | sed 's/^/  | /'
}
for a in "app1.oci.tar $m1 $c1" "app2.top.oci.tar $m2 $c2"; do
  read -r archive m c <<<"$a"
  [ "$archive" = app1.oci.tar ] && echo "## the whole image" || echo "## rt/app:2 without the two layers rt/app:1 brought"
  load node1 "$archive"
  check "node1 (docker): loaded, as the config digest" out_has "Loaded image ID: $c"
  check "  docker image inspect finds it" [ "$(on node1 docker image inspect -f '{{.Id}}' "$c")" = "$c" ]
  load node2 "$archive"
  check "node2 (docker-containerd): loaded, as the manifest digest" out_has "Loaded image ID: $m"
  check "  docker image inspect finds it" [ "$(on node2 docker image inspect -f '{{.Id}}' "$m")" = "$m" ]
  load node3 "$archive"
  check "node3 (containerd): import exits 0" rc_is 0
  check "  imported as import-DATE@manifest digest" grep -Eq "^unpacking import-[0-9-]+@$m \\($m\\)\\.\\.\\.done" <<<"$OUT"
  check "  ctr images check: complete" grep -Eq "^import-[0-9-]+@$m .* complete \([0-9]+/[0-9]+\)" <<<"$(on node3 ctr -n k8s.io images check)"
  check "  the CRI plugin named it by its config digest too" grep -q "^$c$" <<<"$(on node3 ctr -n k8s.io images ls -q)"
  load node4 "$archive"
  check "node4 (podman): loaded, as the config digest" out_has "Loaded image: $c"
  check "  podman image inspect finds it, its digest the manifest's" \
    [ "$(on node4 "podman image inspect --format '{{.Id}} {{.Digest}}' ${c#sha256:}")" = "${c#sha256:} $m" ]
done

echo "# runtime-stop / runtime-start"
declare -A daemon=([node1]=dockerd [node2]=dockerd [node3]=containerd)
for n in node1 node2 node3 node4; do
  before=""; [ -n "${daemon[$n]:-}" ] && before=$(pgrep --ns "$(holder "$n")" --nslist net -x "${daemon[$n]}")
  "$LAB" runtime-stop "$n"
  check "$n: stopped, status says its runtime is down" grep -Eq "^$n .* up +down" <<<"$("$LAB" status || true)"
  if [ -n "$before" ]; then
    check "  its ${daemon[$n]} is gone" bash -c '! kill -0 "$1" 2>/dev/null' _ "$before"
  else
    set +e; OUT=$(on node4 podman images 2>&1); RC=$?; set -e
    check "  its podman fails with 125" rc_is 125
    check "  and says why" out_has "podman is stopped on this lab node"
  fi
  "$LAB" runtime-start "$n"
  check "$n: started again" grep -Eq "^$n .* up +up" <<<"$("$LAB" status)"
done
check "dockerd-stop refuses a node without dockerd" bash -c '! "$1" dockerd-stop node3 2>/dev/null' _ "$LAB"
check "node1 still has rt/app:1" [ "$(on node1 docker image inspect -f '{{.Id}}' "$c1")" = "$c1" ]
check "node2 still has it" [ "$(on node2 docker image inspect -f '{{.Id}}' "$m1")" = "$m1" ]
check "node3 still has it" grep -q "^$c1$" <<<"$(on node3 ctr -n k8s.io images ls -q)"
check "node4 still has it" on node4 podman image exists "${c1#sha256:}"

echo "# down leaves nothing"
procs=""
for n in source node1 node2 node3 node4; do procs+=" $(holder "$n") $(pgrep --ns "$(holder "$n")" --nslist net . | tr '\n' ' ')"; done
echo "  $(wc -w <<<"$procs") processes in the lab's hosts before down"
"$LAB" down
check "none of them is left" bash -c 'for p in $1; do ! kill -0 "$p" 2>/dev/null || { ps -o pid,args -p "$p"; exit 1; }; done' _ "$procs"
check "no mount under the lab's folder" bash -c '! grep -qF " $1/" /proc/self/mountinfo' _ "$TREESYNC_LAB_DIR"
check "its folder is gone" [ ! -e "$TREESYNC_LAB_DIR" ]
done_testing
