#!/usr/bin/env bash
# Host keys are checked against known_hosts; keys that are refused or unsafe
# are reported with what to do.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 5
reset_nodes
KH="$SRC_HOME/.ssh/known_hosts"
cp "$KH" "$KH.orig"
trap 'mv -f "$KH.orig" "$KH"' EXIT
node1_ip=$("$LAB" ip node1)
node2_key=$(grep "^$("$LAB" ip node2)," "$KH" | cut -d' ' -f2-)

# A changed key for node1: refused, the others go on.
grep -v "^$node1_ip," "$KH.orig" >"$KH"
echo "$node1_ip,node1 $node2_key" >>"$KH"
run_ts --image app:1 --mode flat
check "exit status 1 when a host key changed" rc_is 1
check "node1 refused with OpenSSH's warning" grep -qE '^node1 .*host key: REMOTE HOST IDENTIFICATION HAS CHANGED' <<<"$OUT"
check "the message says how to remove the old key" out_has "ssh-keygen -R $node1_ip"
check "node1 got nothing" [ "$(node_id node1 app:1)" = none ]
check "node2 got app:1" [ "$(node_id node2 app:1)" = "$(source_id app:1)" ]

# A @revoked key is refused even where another line matches, and even with
# --accept-new-host-keys.
cp "$KH.orig" "$KH"
echo "@revoked * $(grep "^$node1_ip," "$KH.orig" | cut -d' ' -f2-)" >>"$KH"
run_ts --image app:1 --mode flat --accept-new-host-keys
check "exit status 1 when a host key is revoked" rc_is 1
check "node1 refused: its key is @revoked" \
  grep -qE "^node1 .*host key: the ssh-ed25519 key .* is @revoked in /root/.ssh/known_hosts" <<<"$OUT"
check "revoked: node1 got nothing" [ "$(node_id node1 app:1)" = none ]

# ~/.ssh/known_hosts2 is read with known_hosts, as OpenSSH reads it: node1
# known only there gets in without --accept-new-host-keys; a @revoked line
# there refuses node3, whose key known_hosts holds.
KH2="$SRC_HOME/.ssh/known_hosts2"
trap 'mv -f "$KH.orig" "$KH"; rm -f "$KH2"' EXIT
grep -v "^$node1_ip," "$KH.orig" >"$KH"
grep "^$node1_ip," "$KH.orig" >"$KH2"
echo "@revoked * $(grep "^$("$LAB" ip node3)," "$KH.orig" | cut -d' ' -f2-)" >>"$KH2"
reset_nodes
run_ts --image app:1 --mode flat
check "known_hosts2: exit status 1 (node3 revoked)" rc_is 1
check "node1, known only in known_hosts2, got app:1" [ "$(node_id node1 app:1)" = "$(source_id app:1)" ]
check "node3 refused by the @revoked line in known_hosts2" \
  grep -qE "^node3 .*host key: the ssh-ed25519 key .* is @revoked in /root/.ssh/known_hosts2 \(line 2\)" <<<"$OUT"
check "node3 got nothing" [ "$(node_id node3 app:1)" = none ]
rm -f "$KH2"
trap 'mv -f "$KH.orig" "$KH"' EXIT
reset_nodes

# A wildcard entry (the lab's nodes are $SUBNET.11 to .16) names node1 as
# OpenSSH reads it: with another key that is a changed key, refused even with
# --accept-new-host-keys and not recorded (libssh2's strcmp took it for a new host).
wildcard="${node1_ip%.*}.1?"
grep -v "^$node1_ip," "$KH.orig" >"$KH"
echo "$wildcard $node2_key" >>"$KH"
run_ts --image app:1 --mode flat --accept-new-host-keys
check "wildcard, another key: exit status 1" rc_is 1
check "wildcard, another key: node1 refused as changed" \
  grep -qE '^node1 .*host key: REMOTE HOST IDENTIFICATION HAS CHANGED' <<<"$OUT"
check "wildcard, another key: nothing recorded" bash -c "! grep -q '^$node1_ip ' '$KH'"
check "wildcard, another key: node1 got nothing" [ "$(node_id node1 app:1)" = none ]

# An unknown host: refused unless --accept-new-host-keys, which records it.
grep -v "^$node1_ip," "$KH.orig" >"$KH"
run_ts --image app:1 --mode flat
check "exit status 1 for an unknown host" rc_is 1
check "node1 unknown: names known_hosts and the option" \
  grep -qE "^node1 .*host key: host $node1_ip:22 is not in /root/.ssh/known_hosts.*--accept-new-host-keys" <<<"$OUT"
run_ts --image app:1 --mode flat --accept-new-host-keys
check "accept-new: exit 0" rc_is 0
check "accept-new: node1 loaded" [ "$(node_id node1 app:1)" = "$(source_id app:1)" ]
check "accept-new: the key was recorded" grep -q "^$node1_ip " "$KH"
run_ts --image app:1 --mode flat --force
check "the recorded key is then trusted without the option" rc_is 0
mv -f "$KH.orig" "$KH"; cp "$KH" "$KH.orig"

# A wildcard entry with node1's own key is node1's entry.
grep -v "^$node1_ip," "$KH.orig" >"$KH"
echo "$wildcard $(grep "^$node1_ip," "$KH.orig" | cut -d' ' -f2-)" >>"$KH"
run_ts --image app:1 --mode flat --force
check "wildcard, node1's key: exit 0" rc_is 0
check "wildcard, node1's key: node1 loaded" grep -qE '^node1 .* loaded ' <<<"$OUT"
mv -f "$KH.orig" "$KH"; cp "$KH" "$KH.orig"

# ssh-agent: no key file anywhere treesync looks, the key only in the agent.
mv "$SRC_HOME/.ssh/id_ed25519" "$SRC_HOME/agent_key"
printf 'nodes:\n  - {name: node1, host: %s}\n' "$node1_ip" >"$SRC_HOME/agent.yaml"
set +e
OUT=$("$LAB" exec source bash -c 'eval "$(ssh-agent -s)" >/dev/null && ssh-add -q /root/agent_key &&
  "$1" --inventory /root/agent.yaml --image app:1 --force; rc=$?; ssh-agent -k >/dev/null; exit $rc' _ "$TS" 2>&1)
RC=$?
set -e
mv "$SRC_HOME/agent_key" "$SRC_HOME/.ssh/id_ed25519"
printf '%s\n' "$OUT" | sed 's/^/  | /'
check "authenticates with the key held by ssh-agent" rc_is 0
check "and loads node1" grep -qE '^node1 .* loaded ' <<<"$OUT"
set +e
OUT=$("$LAB" exec source env -u SSH_AUTH_SOCK HOME=/nonexistent "$TS" --inventory /root/agent.yaml --known-hosts /root/.ssh/known_hosts --image app:1 --force 2>&1); RC=$?
set -e
check "with no agent and no key, it says so" grep -qE '^node1 .*auth: no usable SSH key for root@' <<<"$OUT"
rm -f "$SRC_HOME/agent.yaml"

# Keys the node does not accept.
ssh-keygen -q -t ed25519 -N '' -f "$SRC_HOME/stranger" <<<y >/dev/null
ssh-keygen -q -t rsa -b 2048 -N '' -f "$SRC_HOME/old_rsa" <<<y >/dev/null
cat "$SRC_HOME/old_rsa.pub" >>"$TREESYNC_LAB_DIR/hosts/node1/root/.ssh/authorized_keys"
cat >"$SRC_HOME/keys.yaml" <<YAML
nodes:
  - {name: node1, host: $node1_ip, identity: /root/stranger}
  - {name: node1rsa, host: $node1_ip, identity: /root/old_rsa}
YAML
set +e
OUT=$("$LAB" exec source "$TS" --inventory /root/keys.yaml --image app:1 --force 2>&1); RC=$?
set -e
printf '%s\n' "$OUT" | sed 's/^/  | /'
check "refused keys: exit status 1" rc_is 1
check "an unauthorized key says where the public key must go" \
  grep -qE '^node1 .*auth: the server refused every key .*authorized_keys' <<<"$OUT"
check "an RSA key refused by OpenSSH 8.8+ says to use ed25519" \
  grep -qE '^node1rsa .*auth: .*RSA.*ed25519' <<<"$OUT"

chmod 644 "$SRC_HOME/stranger"
set +e
OUT=$("$LAB" exec source "$TS" --inventory /root/keys.yaml --image app:1 2>&1); RC=$?
set -e
echo "  | $OUT"
check "a world-readable identity file is refused up front (exit 2)" rc_is 2
check "with the chmod that fixes it" out_has "chmod 600 /root/stranger"
rm -f "$SRC_HOME"/stranger* "$SRC_HOME"/old_rsa* "$SRC_HOME/keys.yaml"
sed -i '/old_rsa\|^ssh-rsa/d' "$TREESYNC_LAB_DIR/hosts/node1/root/.ssh/authorized_keys"

# A hostile node whose host key is right: its sshd answers every command with
# endless output (ForceCommand yes). The source reads a bounded amount, fails
# that node with one line, and the others go on.
SSHD_CONF="$TREESYNC_LAB_DIR/hosts/node2/ssh/sshd_config"
cp "$SSHD_CONF" "$SSHD_CONF.orig"
restore_sshd() { mv -f "$SSHD_CONF.orig" "$SSHD_CONF"; "$LAB" sshd-stop node2; "$LAB" sshd-start node2; }
trap 'mv -f "$KH.orig" "$KH"; restore_sshd || true' EXIT
echo "ForceCommand yes" >>"$SSHD_CONF"
"$LAB" sshd-stop node2
"$LAB" sshd-start node2
reset_nodes
run_ts --image app:1 --mode flat
check "exit status 1: one node is hostile" rc_is 1
check "node2 failed with one line: it printed more than 64 KiB" grep -qE '^node2 .*printed more than 64 KiB' <<<"$OUT"
check "node1 and node3 got app:1 all the same" \
  [ "$(node_id node1 app:1) $(node_id node3 app:1)" = "$(source_id app:1) $(source_id app:1)" ]
restore_sshd
trap 'mv -f "$KH.orig" "$KH"' EXIT
assert_clean
done_testing
