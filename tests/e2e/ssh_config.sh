#!/usr/bin/env bash
# Nodes named only by a host alias that the operator's ssh config resolves,
# as `ssh ALIAS` would: ~/.ssh/config by default, --ssh-config FILE else.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 5
reset_nodes
CFG="$SRC_HOME/.ssh/config"
trap 'rm -f "$CFG" "$SRC_HOME/aliases.yaml" "$SRC_HOME/other_config" || true' EXIT
node1_ip=$("$LAB" ip node1)
node2_ip=$("$LAB" ip node2)
node3_ip=$("$LAB" ip node3)
# alias3's config port is wrong on purpose: the inventory's own port wins.
cat >"$CFG" <<CONF
Host alias1
  HostName $node1_ip
Host alias2
  HostName $node2_ip
  ProxyJump alias1
Host alias3
  HostName $node3_ip
  Port 2999
CONF
cat >"$SRC_HOME/aliases.yaml" <<INV
defaults: {identity: /root/.ssh/id_ed25519}
nodes:
  - {name: alias1}
  - {name: alias2}
  - {name: alias3, port: 22}
INV
TS_INV=/root/aliases.yaml

# node2 refuses the source outright: alias2 is reached through alias1 or not at all.
SRC_IP=$("$LAB" ip source)
"$LAB" exec node2 iptables -A INPUT -s "$SRC_IP" -j REJECT
trap '"$LAB" exec node2 iptables -D INPUT -s "$SRC_IP" -j REJECT || true; rm -f "$CFG" "$SRC_HOME/aliases.yaml" "$SRC_HOME/other_config" || true' EXIT
run_ts --image app:1 --mode flat
check "exit status 0" rc_is 0
check "alias1, resolved through ~/.ssh/config, got app:1" [ "$(node_id node1 app:1)" = "$(source_id app:1)" ]
check "alias3: the inventory's port won over the config's" [ "$(node_id node3 app:1)" = "$(source_id app:1)" ]
check "alias2, which refuses the source, got app:1 through its jump host alias1" \
  [ "$(node_id node2 app:1)" = "$(source_id app:1)" ]
check "alias2's data went over SSH through alias1, chosen without a direct attempt" \
  out_has "alias2: behind jump host alias1; carrying the source's edge over SSH"
"$LAB" exec node2 iptables -D INPUT -s "$SRC_IP" -j REJECT
trap 'rm -f "$CFG" "$SRC_HOME/aliases.yaml" "$SRC_HOME/other_config" || true' EXIT
reset_nodes

# --ssh-config FILE instead of ~/.ssh/config; StrictHostKeyChecking no is refused.
mv "$CFG" "$SRC_HOME/other_config"
printf 'Host alias2\n  HostName %s\n  StrictHostKeyChecking no\n' "$node2_ip" >>"$SRC_HOME/other_config"
sed -i '/ProxyJump/d' "$SRC_HOME/other_config"
run_ts --image app:1 --mode flat
check "without a config the aliases do not resolve: exit 1" rc_is 1
run_ts --image app:1 --mode flat --ssh-config /root/other_config
check "with --ssh-config: exit 1 for the refused node only" rc_is 1
check "StrictHostKeyChecking no is refused, naming the node" out_has "is refused for node alias2"
check "alias2 still got nothing" [ "$(node_id node2 app:1)" = none ]
# Insisting with --accept-new-host-keys takes it as accept-new: a changed key
# is still refused.
KH="$SRC_HOME/.ssh/known_hosts"
cp "$KH" "$KH.orig"
trap 'mv -f "$KH.orig" "$KH" || true; rm -f "$CFG" "$SRC_HOME/aliases.yaml" "$SRC_HOME/other_config" || true' EXIT
node1_key=$(grep "^$node1_ip," "$KH.orig" | cut -d' ' -f2-)
grep -v "^$node2_ip," "$KH.orig" >"$KH"
echo "$node2_ip $node1_key" >>"$KH"
run_ts --image app:1 --mode flat --ssh-config /root/other_config --accept-new-host-keys
check "no + --accept-new-host-keys: a changed key is still refused" out_has "REMOTE HOST IDENTIFICATION HAS CHANGED"
check "no + --accept-new-host-keys: alias2 got nothing" [ "$(node_id node2 app:1)" = none ]
mv -f "$KH.orig" "$KH"
run_ts --image app:1 --mode flat --ssh-config /root/other_config --accept-new-host-keys
check "then alias2 is reached through HostName" rc_is 0
check "alias2 got app:1" [ "$(node_id node2 app:1)" = "$(source_id app:1)" ]
# In a tree the relays reach their children at the addresses the config resolved.
reset_nodes
run_ts --image app:1 --mode tree --fanout 1 --ssh-config /root/other_config --accept-new-host-keys
check "tree through aliases: exit 0" rc_is 0
for n in node1 node2 node3; do
  check "tree: $n got app:1" [ "$(node_id "$n" app:1)" = "$(source_id app:1)" ]
done
assert_clean
done_testing
