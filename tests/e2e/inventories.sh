#!/usr/bin/env bash
# Inventories an operator already has: a plain list of hosts, as the seed's
# users keep them, and an Ansible INI inventory whose groups are node types;
# then IdentitiesOnly in the ssh config: of ssh-agent's keys only the one
# whose public half is the IdentityFile's is offered.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 5
reset_nodes
AGENT_PID=
cleanup() {
  [ -z "$AGENT_PID" ] || kill "$AGENT_PID" || true
  rm -f "$SRC_HOME/hosts.txt" "$SRC_HOME/hosts.ini" "$SRC_HOME/.ssh/config" "$SRC_HOME"/.ssh/other_key* \
    "$SRC_HOME"/.ssh/agent_copy* || true
}
trap cleanup EXIT

# The list: names /etc/hosts resolves, with a user, a port, comments.
cat >"$SRC_HOME/hosts.txt" <<'LIST'
# the seed's hosts
node1
root@node2

node3:22   # rack 2
LIST
TS_INV=/root/hosts.txt
run_ts --image app:1 --mode flat
check "host list: exit 0" rc_is 0
for n in node1 node2 node3; do check "host list: $n got app:1" [ "$(node_id "$n" app:1)" = "$(source_id app:1)" ]; done
check "host list: node4 is not in it and got nothing" [ "$(node_id node4 app:1)" = none ]

# Ansible INI: --node-type prod picks the web group through [prod:children];
# edge is an alias that ansible_host resolves; db is left alone.
cat >"$SRC_HOME/hosts.ini" <<INI
[web]
edge ansible_host=$("$LAB" ip node4) ansible_port=22
node[5:5]
[db]
node6
[prod:children]
web
[all:vars]
ansible_user=root
ansible_python_interpreter=/usr/bin/python3
INI
TS_INV=/root/hosts.ini
run_ts --image app:1 --node-type prod --mode tree --fanout 1
check "Ansible INI: exit 0" rc_is 0
check "Ansible INI: two nodes of type prod" out_has "to 2 node(s)"
for n in node4 node5; do check "Ansible INI: $n (prod) got app:1" [ "$(node_id "$n" app:1)" = "$(source_id app:1)" ]; done
check "Ansible INI: node6 (db) got nothing" [ "$(node_id node6 app:1)" = none ]

# IdentitiesOnly: an agent holds the lab's key; node1's IdentityFile is a
# key no node accepts.
rm -f "$SRC_HOME"/.ssh/other_key*
"$LAB" exec source ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/other_key
rm -f "$TREESYNC_LAB_DIR/hosts/source/tmp/agent.sock"
AGENT_PID=$("$LAB" exec source ssh-agent -a /tmp/agent.sock -s | sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p')
"$LAB" exec source env SSH_AUTH_SOCK=/tmp/agent.sock ssh-add -q /root/.ssh/id_ed25519
TS_ENV=(SSH_AUTH_SOCK=/tmp/agent.sock)
TS_INV=/root/hosts.txt
printf 'Host node1\n  IdentityFile /root/.ssh/other_key\n' >"$SRC_HOME/.ssh/config"
run_ts --image app:1 --nodes node1
check "without IdentitiesOnly the agent's key gets in" rc_is 0
printf '  IdentitiesOnly yes\n' >>"$SRC_HOME/.ssh/config"
run_ts --image app:1 --nodes node1
check "IdentitiesOnly yes: only other_key is offered, and refused" rc_is 1
check "IdentitiesOnly: the failure says the agent's other keys were not tried" \
  out_has "refused every key for root (/root/.ssh/other_key; IdentitiesOnly: no other agent key tried)"
# The agent's copy of the IdentityFile's key is used (the file itself is no key).
echo "not a key" >"$SRC_HOME/.ssh/agent_copy"
chmod 600 "$SRC_HOME/.ssh/agent_copy"
cp "$SRC_HOME/.ssh/id_ed25519.pub" "$SRC_HOME/.ssh/agent_copy.pub"
printf 'Host node1\n  IdentityFile /root/.ssh/agent_copy\n  IdentitiesOnly yes\n' >"$SRC_HOME/.ssh/config"
run_ts --image app:1 --nodes node1
check "IdentitiesOnly yes: the agent's key whose .pub is the IdentityFile's gets in" rc_is 0
TS_ENV=()
assert_clean
done_testing
