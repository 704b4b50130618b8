#!/usr/bin/env bash
# Non-root SSH users, in a lab of its own (`scripts/lab up 4 --users`):
# every node has `ops`, who may use the node's runtime through its socket's
# group (node1: docker, node3: containerd) or only through a sudoers rule
# for the runtime command (node2: docker, node4: podman), and `guest`, who
# may do neither. One tree rollout as ops, with sudo detected at the probe,
# reaches every node; each node's own runtime shows the image; the relays
# ran as ops (ps on the nodes), only the runtime ran as root. guest fails
# with one line naming both fixes and changes nothing. The sudoers rule
# allows the runtime alone: the rollout needed nothing else through sudo.
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-users 4 --users --runtimes docker,docker,containerd,podman

OPS_INV="$TREESYNC_LAB_DIR/hosts/source/root/ops.yaml"
# The lab's inventory with every node reached as USER, and LINE in defaults.
inventory_as() {
  sed "s/^  user: root\$/  user: $1/" "$INV" >"$OPS_INV"
  [ -z "${2:-}" ] || sed -i "/^defaults:\$/a\\  $2" "$OPS_INV"
  TS_INV=/root/ops.yaml
}
kind_of() { cat "$TREESYNC_LAB_DIR/hosts/$1/users"; }
ops_uid() { "$LAB" exec "$1" id -u ops; }

echo "# the lab: ops is no root anywhere, and its sudo allows only the runtime"
for n in "${NODES[@]}"; do
  check "$n: ops logs in as uid $(ops_uid "$n"), not root" [ "$(ops_uid "$n")" != 0 ]
done
check "node1 and node3 give ops the runtime's group, node2 and node4 a sudoers rule" \
  [ "$(kind_of node1) $(kind_of node2) $(kind_of node3) $(kind_of node4)" = "group sudo group sudo" ]
rule=$(cat "$TREESYNC_LAB_DIR/hosts/node2/sudoers.d/treesync-lab")
check "node2's rule names docker alone: $rule" [ "$rule" = "ops ALL=(root) NOPASSWD: $(PATH=/usr/local/bin:/usr/bin command -v docker)" ]
check "node2: ops may not sudo anything else (sudo -n true is refused)" \
  bash -c "! '$LAB' exec node2 setpriv --reuid=ops --regid=ops --init-groups sudo -n true 2>/dev/null"

ensure_image app:1 16
inventory_as ops

echo "# the plan shows which nodes go through sudo"
run_ts --image app:1 --dry-run --mode tree --fanout 1
check "dry run exits 0" rc_is 0
check "node2 (sudo rule) runs Docker via sudo" grep -qE '^ +node2 \(.*Docker 20\.10.*\) via sudo' <<<"$OUT"
check "node4 (podman) runs podman via sudo" grep -qE '^ +node4 \(.*podman 4\..*\) via sudo' <<<"$OUT"
# NODE's line in the plan does not say "via sudo".
as_itself() { grep -qE "^ +$1 \(" <<<"$OUT" && ! grep -E "^ +$1 \(" <<<"$OUT" | grep -q 'via sudo'; }
check "node1 (docker group) uses Docker as ops" as_itself node1
check "node3 (containerd's group) uses ctr as ops" as_itself node3

echo "# a tree as ops: every kind of node parent and child; ps samples who ran what"
SAMPLES="$TREESYNC_LAB_DIR/samples"
: >"$SAMPLES"
( while :; do
    for p in $(pgrep -f 'treesync-relay-[0-9a-f]{32} serve|^sudo -n -- (docker|podman|ctr)'); do
      echo "$(readlink "/proc/$p/ns/net") $(stat -c %u "/proc/$p" 2>/dev/null) $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)"
    done >>"$SAMPLES" 2>/dev/null
    sleep 0.05
  done ) &
SAMPLER=$!
run_ts --image app:1 --mode tree --fanout 1 --limit-rate 100M
kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true
check "exits 0" rc_is 0
check "every node's runtime finds app:1 with the source's config digest" every_node_finds app:1
for n in "${NODES[@]}"; do
  ns=$(readlink "/proc/$(cat "$TREESYNC_LAB_DIR/hosts/$n/pid")/ns/net")
  uids=$(grep -F "$ns " "$SAMPLES" | grep 'treesync-relay-' | awk '{print $2}' | sort -u | tr '\n' ' ')
  check "$n: ps saw its relay, always as ops ($(ops_uid "$n")): uids seen: $uids" [ "$uids" = "$(ops_uid "$n") " ]
  home="$TREESYNC_LAB_DIR/hosts/$n/home/ops/.cache/treesync"
  check "$n: the relay is cached in ops's home, owned by ops" \
    bash -c "ls '$home'/treesync-relay-* >/dev/null && [ \"\$(stat -c %u '$home')\" = $(ops_uid "$n") ]"
  check "$n: nothing in root's home on the node" bash -c "! ls -A '$TREESYNC_LAB_DIR/hosts/$n/root/.cache' 2>/dev/null | grep -q ."
  check "$n: no spool or run directory left in ops's cache" bash -c "! ls -A '$home' | grep -v '^treesync-relay-' | grep -q ."
done
check "node2's load went through sudo -n -- docker" bash -c "grep -F \"\$(readlink /proc/$(cat "$TREESYNC_LAB_DIR/hosts/node2/pid")/ns/net) \" '$SAMPLES' | grep -q 'sudo -n -- docker load'"
check "node1 (docker group) never used sudo" bash -c "! grep -F \"\$(readlink /proc/$(cat "$TREESYNC_LAB_DIR/hosts/node1/pid")/ns/net) \" '$SAMPLES' | grep -q ' sudo -n '"

echo "# sudo: true in the inventory, per node and in defaults"
inventory_as ops "sudo: true"
run_ts status --image app:1
check "status with sudo: true in defaults: node2 answers via sudo" grep -qE '^node2 .*via sudo.* present' <<<"$OUT"
check "status with sudo: true in defaults: node4 answers via sudo" grep -qE '^node4 .*via sudo.* present' <<<"$OUT"
check "status: node1, whose ops has no sudo, fails with one line naming both fixes" \
  grep -qF 'user ops cannot use docker: `sudo -n docker` fails' <<<"$OUT"

echo "# guest: neither the group nor sudo"
ensure_image app:2 4 app:1
inventory_as ops
sed -i '/^  - name: node2$/a\    user: guest' "$OPS_INV"
before=$("$LAB" image-id node2 app:1)
run_ts --image app:2 --mode tree --fanout 1
check "exits 1 (node2 did not get the image)" rc_is 1
line='user guest cannot use docker: add guest to the docker group, or allow `sudo -n docker` (NOPASSWD, that command only) and set sudo: true'
check "node2 fails with the one line" grep -qF "$line" <<<"$OUT"
check "node2's row in the summary carries that line" bash -c "grep -E '^node2 ' <<<\"\$1\" | grep -qF \"\$2\"" _ "$OUT" "$line"
check "node2 has no app:2 and its app:1 is unchanged" \
  bash -c "[ \"\$('$LAB' image-id node2 app:2)\" = none ] && [ \"\$('$LAB' image-id node2 app:1)\" = '$before' ]"
for n in node1 node3 node4; do
  want=$("$LAB" image-id source app:2)
  check "$n (ops) got app:2 all the same" [ "$("$LAB" image-id "$n" app:2)" = "$want" ]
done
check "node2: nothing of guest's left in its cache but the relay" \
  bash -c "! ls -A '$TREESYNC_LAB_DIR/hosts/node2/home/guest/.cache/treesync' 2>/dev/null | grep -v '^treesync-relay-' | grep -q ."
done_testing
