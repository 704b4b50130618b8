#!/usr/bin/env bash
# Nodes the source can reach only through a bastion (scripts/lab up N
# --bastion: the nodes on a network the source has no route to), named only
# in the operator's ~/.ssh/config with `ProxyJump bastion`. A tree rollout
# reaches every node (each node's own runtime shows the image); the source's
# bytes cross the bastion for the tree's first edges only, the relays feed
# the rest inside the cluster. A bastion whose known_hosts entry holds
# another key is refused for every node, naming the hop, and nothing is
# delivered; a node the bastion cannot reach fails with the bastion's
# answer. Two hops: a node reached through another node, itself behind the
# bastion (its own ProxyJump), as OpenSSH's client reaches it too.
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-jump 4 --bastion

BASTION_IP=$("$LAB" ip bastion)
check "the source has no route to the nodes" \
  bash -c '! "$1" exec source python3 -c "import socket; socket.create_connection((\"$2\", 22), timeout=2)" 2>/dev/null' \
  _ "$LAB" "$("$LAB" ip node1)"
ensure_image app:1 20
ensure_image app:2 2
# The lab's own inventory (addresses) works through the lab's ssh config.
BUNDLE=$(bundle_bytes app:1)
check "the lab's inventory reaches the nodes through the bastion" [ "$BUNDLE" -gt $((20 << 20)) ]

# The operator's config: aliases only, every node behind the bastion; deep
# (node4) through n1, which is itself behind the bastion.
CFG="$SRC_HOME/.ssh/config"
{
  printf 'Host bastion\n  HostName %s\n' "$BASTION_IP"
  for i in 1 2 3 4; do printf 'Host n%s\n  HostName %s\n' "$i" "$("$LAB" ip "node$i")"; done
  printf 'Host deep\n  HostName %s\n  ProxyJump n1\n' "$("$LAB" ip node4)"
  printf 'Host n?\n  ProxyJump bastion\n'
} >"$CFG"
printf 'defaults: {identity: /root/.ssh/id_ed25519}\nnodes:\n' >"$SRC_HOME/aliases.yaml"
for i in 1 2 3 4; do echo "  - {name: n$i}" >>"$SRC_HOME/aliases.yaml"; done
printf 'nodes:\n  - {name: deep}\n' >"$SRC_HOME/deep.yaml"
TS_INV=/root/aliases.yaml
run_ts --image app:1 --dry-run --quiet   # relays shipped: the bytes below are the image's

tx() { "$LAB" exec bastion cat /sys/class/net/eth1/statistics/tx_bytes; }
before=$(tx)
run_ts --image app:1 --mode tree --fanout 2 -v --json /tmp/report.json
through=$(($(tx) - before))
check "tree through the bastion: exit status 0" rc_is 0
check "every node's runtime shows app:1 with the source's config digest" every_node_finds app:1
check "the source went straight to the SSH edge for its children (no direct attempt)" \
  bash -c '! grep -q "cannot connect to" <<<"$1" && grep -q "n1: behind jump host bastion; carrying the source.s edge over SSH" <<<"$1"' _ "$OUT"
"$LAB" exec source cat /tmp/report.json >"$TREESYNC_LAB_DIR/report.json"
R="$TREESYNC_LAB_DIR/report.json"
check "the source fed two nodes, over SSH; those two fed the other two, not over SSH" [ "$(report "$R" \
  'sorted((n["parent"] == "source", n["via_ssh"], n["parent"] in ("source", "n1", "n2", "n3", "n4")) for n in r["nodes"])')" \
  = "[(False, False, True), (False, False, True), (True, True, True), (True, True, True)]" ]
echo "  bundle $BUNDLE bytes, $through bytes from the bastion into the nodes' network"
check "the bastion carried the tree's two first edges only (2 to 2.3 bundles, not 4)" \
  [ "$through" -ge $((2 * BUNDLE)) -a "$through" -le $((23 * BUNDLE / 10)) ]
assert_clean

# The attacker: the bastion's known_hosts entry holds another key (node1's).
KH="$SRC_HOME/.ssh/known_hosts"
cp "$KH" "$KH.orig"
other_key=$(grep "^$("$LAB" ip node1)," "$KH.orig" | cut -d' ' -f2-)
{ grep -v "^$BASTION_IP," "$KH.orig"; echo "$BASTION_IP,bastion $other_key"; } >"$KH"
run_ts --image app:2 --accept-new-host-keys
check "a changed bastion key: exit status 1" rc_is 1
for i in 1 2 3 4; do
  check "n$i refused with one line naming the hop" \
    grep -qE "n$i: host key: jump host bastion: REMOTE HOST IDENTIFICATION HAS CHANGED for $BASTION_IP:22" <<<"$OUT"
  check "node$i got nothing" [ "$(node_id "node$i" app:2)" = none ]
done
mv -f "$KH.orig" "$KH"
# A node the bastion cannot reach: the bastion's own answer, in one line.
"$LAB" sshd-stop node3
run_ts --image app:2 --nodes 2
check "n3, whose sshd is down, fails with why the bastion could not forward" \
  out_has "n3: connect: SSH handshake with $("$LAB" ip node3):22 failed: bastion would not forward to $("$LAB" ip node3):22"
"$LAB" sshd-start node3

# Two hops, the first one's own ProxyJump followed as ssh -J follows it:
# OpenSSH's client takes the same way with the same config. node4 refuses
# SSH from the bastion, so the way in is through n1 or none.
"$LAB" exec node4 iptables -A INPUT -s "$("$LAB" exec bastion ip -4 -o addr show eth1 | awk '{print $4}' | cut -d/ -f1)" \
  -p tcp --dport 22 -j REJECT
check "OpenSSH reaches deep through the bastion and n1" \
  "$LAB" exec source ssh -o BatchMode=yes -o ConnectTimeout=5 deep hostname
TS_INV=/root/deep.yaml
run_ts --image app:2 --mode flat
check "deep through two hops: exit status 0" rc_is 0
check "node4 (deep) shows app:2 with the source's ID" [ "$(node_id node4 app:2)" = "$(source_id app:2)" ]
assert_clean
done_testing
