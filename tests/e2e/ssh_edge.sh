#!/usr/bin/env bash
# A node whose firewall lets only SSH in from the source: the source's edge
# to its relay goes through an SSH tunnel (direct-tcpip), chosen for that
# edge alone; the other edges stay plain TCP, and the node still forwards to
# its children over TCP. The same handshake runs through the tunnel.
. "$(dirname "$0")/lib.sh"
[ "${#NODES[@]}" -ge 6 ] || fail "needs a lab of 6 nodes"
ensure_image app:1 20
SRC_IP=$("$LAB" ip source)
# node1 (the first child of the source at fanout 2) refuses every TCP
# connection from the source but SSH; other nodes may still reach it.
firewall() { "$LAB" exec node1 iptables "$1" INPUT -p tcp -s "$SRC_IP" ! --dport 22 -j REJECT --reject-with tcp-reset; }
firewall -A
trap 'firewall -D 2>/dev/null || true' EXIT
check "the firewall is in place: TCP from the source to node1 is refused" \
  bash -c '! "$1" exec source python3 -c "import socket; socket.create_connection((\"$2\", 9), timeout=3)" 2>/dev/null' \
  _ "$LAB" "$("$LAB" ip node1)"
run_ts --image app:1 --dry-run --quiet   # relays shipped, layers cached

for mode in flat tree; do
  echo "# $mode mode"
  reset_nodes
  run_ts --image app:1 --mode "$mode" --fanout 2 -v --json /tmp/report.json
  check "$mode: exit status 0" rc_is 0
  check "$mode: every node shows app:1 with the source's ID" all_nodes_have app:1
  check "$mode: treesync said why node1's edge goes over SSH" \
    grep -qE 'node1: cannot connect to [0-9.]+:[0-9]+: Connection refused; carrying the source.s edge over SSH' <<<"$OUT"
  check "$mode: the summary says node1 was fed over SSH" grep -qE '^node1 .*fed over SSH' <<<"$OUT"
  check "$mode: no other node was" [ "$(grep -c 'fed over SSH' <<<"$OUT")" = 1 ]
  report=$("$LAB" exec source cat /tmp/report.json)
  check "$mode: the report marks node1 via_ssh, and only node1" \
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); v=[n["name"] for n in r["nodes"] if n["via_ssh"]]; sys.exit(v != ["node1"])' "$report"
  assert_clean
done
check "tree: node1's children got their stream from node1 over TCP" \
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); p={n["name"]: n["parent"] for n in r["nodes"]}; sys.exit(not (p["node2"] == "node1" and p["node1"] == "source"))' "$report"
firewall -D; trap - EXIT
done_testing
