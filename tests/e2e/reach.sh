#!/usr/bin/env bash
# The nodes operators actually have, all at once (issue 14's acceptance): a
# cluster the source reaches only through a bastion, where treesync logs in
# as the non-root user `ops` (odd nodes: the runtime's group; even nodes: a
# sudoers rule for the runtime command alone), two nodes are arm64 (under
# qemu-user-static), and the nodes are named only in the operator's
# ~/.ssh/config, listed in a plain host list. One tree rollout reaches every
# node; each node's own runtime shows the source's image.
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-reach 6 --bastion --users --arm64 1,6 \
  --runtimes docker,docker,containerd,docker,docker,podman
ensure_image app:1 6

# The operator's config: aliases web1..web6, every one behind the bastion, as
# ops with the operator's key. Nothing else names the nodes.
{
  printf 'Host bastion\n  HostName %s\n' "$("$LAB" ip bastion)"
  for i in 1 2 3 4 5 6; do printf 'Host web%s\n  HostName %s\n' "$i" "$("$LAB" ip "node$i")"; done
  printf 'Host web*\n  User ops\n  ProxyJump bastion\n  IdentityFile ~/.ssh/id_ed25519\n'
} >"$SRC_HOME/.ssh/config"
printf '# the web tier\nweb1\nweb2\nweb3\nweb4\nweb5\nweb6\n' >"$SRC_HOME/hosts.txt"
TS_INV=/root/hosts.txt

# The image is amd64: the arm64 nodes take it only with --force (their
# refusal without it is tests/e2e/arm64.sh's).
run_ts --image app:1 --mode tree --fanout 2 --force -v --json /tmp/report.json
check "exit status 0" rc_is 0
check "every node's runtime shows app:1 with the source's config digest" every_node_finds app:1

R="$TREESYNC_LAB_DIR/report.json"
"$LAB" exec source cat /tmp/report.json >"$R"
check "the report is valid" valid_report "$R"
check "every node loaded" [ "$(report "$R" '" ".join(n["outcome"] for n in r["nodes"])')" = \
  "loaded loaded loaded loaded loaded loaded" ]
edges=$(report "$R" '" ".join(n["name"] + "<" + str(n["parent"]) + ("/ssh" if n["via_ssh"] else "") for n in r["nodes"])')
echo "  tree: $edges"
check "the source fed its children over SSH through the bastion, the relays fed the rest directly" \
  bash -c '[ "$(grep -o "<source/ssh" <<<"$1" | wc -l)" = 2 ] && ! grep -qE "<web[0-9]/ssh|<source( |$)" <<<"$1"' _ "$edges"
check "the report names each node's platform and whether its runtime ran through sudo" [ "$(report "$R" \
  '" ".join(n["name"] + ":" + n["runtime"]["arch"] + ":" + str(n["runtime"]["sudo"]) for n in r["nodes"])')" = \
  "web1:arm64:False web2:amd64:True web3:amd64:False web4:amd64:True web5:amd64:False web6:arm64:True" ]
check "an arm64 node (web1) fed other nodes" grep -q "<web1" <<<"$edges"
check "the other arm64 node (web6) was fed inside the cluster" grep -qE "web6<web[0-9]( |$)" <<<"$edges"

for i in 1 2 3 4 5 6; do
  n=node$i
  if [ $((i % 2)) = 0 ]; then
    check "web$i: the probe says via sudo" grep -qE "web$i: .* via sudo, " <<<"$OUT"
  else
    check "web$i: ops used the runtime's group, no sudo" bash -c '! grep -qE "web$1: .* via sudo, " <<<"$2"' _ "$i" "$OUT"
  fi
  relays=("$TREESYNC_LAB_DIR/hosts/$n/home/ops/.cache/treesync/"treesync-relay-*)
  want="$BUILD/treesync-relay"
  case $i in 1 | 6) want="$BUILD/treesync-relay-arm64" ;; esac
  check "web$i: ops's cache holds the relay for its architecture ($(basename "$want")), alone" \
    [ "${#relays[@]} $(sha256sum <"${relays[0]}" | cut -d' ' -f1)" = "1 $(sha256sum <"$want" | cut -d' ' -f1)" ]
  check "web$i: ops's cache holds nothing else (no spool or run folder left)" \
    [ -z "$(ls -A "$(dirname "${relays[0]}")" | grep -v '^treesync-relay-')" ]
  check "web$i: nothing of treesync's under root's home (the relay ran as ops)" \
    [ ! -e "$TREESYNC_LAB_DIR/hosts/$n/root/.cache/treesync" ]
done
assert_clean
done_testing
