#!/usr/bin/env bash
# One unreachable node fails with a reason while the others succeed; a node
# whose Docker is down fails at the probe; a missing image stops the run
# before any connection.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 20
reset_nodes

"$LAB" sshd-stop node2
trap '"$LAB" sshd-start node2' EXIT
run_ts --image app:1 --mode flat --connect-timeout 3
check "exit status is 1" rc_is 1
check "node2 failed at connect, saying sshd is not answering" \
  grep -qE '^node2 .* failed .*connect: cannot connect to .*Connection refused' <<<"$OUT"
for n in "${NODES[@]}"; do
  [ "$n" = node2 ] && continue
  check "$n still got app:1" [ "$(node_id "$n" app:1)" = "$(source_id app:1)" ]
done
check "node2 has nothing" [ "$(node_id node2 app:1)" = none ]
assert_clean
"$LAB" sshd-start node2
trap - EXIT

"$LAB" dockerd-stop node3
trap '"$LAB" dockerd-start node3' EXIT
run_ts --image app:1 --mode flat --force
check "exit status is 1 with Docker down on node3" rc_is 1
check "node3 failed at the probe, naming the Docker daemon" \
  grep -qE '^node3 .* failed .*probe: Docker daemon not reachable' <<<"$OUT"
check "node2 got app:1 in the same run" [ "$(node_id node2 app:1)" = "$(source_id app:1)" ]
assert_clean
"$LAB" dockerd-start node3
trap - EXIT

# An inventory whose only node cannot be reached: the image check must come first.
cat >"$SRC_HOME/far.yaml" <<YAML
nodes:
  - {name: far, host: 198.18.0.250}
YAML
start=$(date +%s)
set +e
OUT=$("$LAB" exec source "$TS" --inventory /root/far.yaml --image no-such:1 --connect-timeout 20 2>&1)
RC=$?
set -e
echo "  | $OUT"
check "a missing image exits 2" rc_is 2
check "it names the image and how to get it" out_has "image no-such:1 is not in the local Docker"
check "it stops before connecting (no 20 s timeout)" [ $(($(date +%s) - start)) -lt 10 ]
check "it says nothing of connecting" bash -c "! grep -q connect <<<\"\$1\"" _ "$OUT"

# A host that does not answer at all fails within --connect-timeout.
start=$(date +%s)
set +e
OUT=$("$LAB" exec source "$TS" --inventory /root/far.yaml --image app:1 --connect-timeout 2 2>&1)
RC=$?
set -e
printf '%s\n' "$OUT" | sed 's/^/  | /'
check "an unreachable host exits 1" rc_is 1
check "it fails at connect, naming the timeout" grep -qE '^far .* failed .*connect: .*timed out after 2 s' <<<"$OUT"
check "within the timeout (under 6 s in all)" [ $(($(date +%s) - start)) -lt 6 ]
rm -f "$SRC_HOME/far.yaml"

# A hung runtime (node3's dockerd stopped with SIGSTOP: its socket accepts,
# nothing answers) fails at the probe on --probe-timeout's clock, not
# --stall-timeout's, and the other nodes get the image without waiting for
# it (no probe barrier: they go on a quarter second or so after the last
# answer, src/delivery/probe_quiet.h; about 1.5 s in all here).
reset_nodes
dockerd=$(pgrep --ns "$(cat "$TREESYNC_LAB_DIR/hosts/node3/pid")" --nslist net -x dockerd)
kill -STOP "$dockerd"
trap 'kill -CONT "$dockerd" || true' EXIT
start=$(date +%s)
run_ts --image app:1 --mode flat --probe-timeout 20 --stall-timeout 120
took=$(($(date +%s) - start))
kill -CONT "$dockerd"
check "a hung runtime: exit status 1" rc_is 1
check "node3 fails at the probe after --probe-timeout's 20 s" grep -qE '^node3 .*probe: no word from the relay for 20 s' <<<"$OUT"
check "node1 and node2 got app:1" \
  [ "$(node_id node1 app:1) $(node_id node2 app:1)" = "$(source_id app:1) $(source_id app:1)" ]
check "the run took $took s: the probe's clock, not the stall timeout's 120" [ "$took" -lt 50 ]
check "the run went on without node3" out_has "1 node(s) still probing after the others answered"
for n in node1 node2; do
  secs=$(awk -v n="$n" '$1 == n && $4 == "loaded" {print $7}' <<<"$OUT")
  check "$n was done after ${secs:-?} s, not held back by node3's 20 s probe (nor 3 s of waiting for it)" \
    awk -v s="${secs:-99}" 'BEGIN{exit !(s < 3)}'
done
gone() { local i; for i in $(seq 100); do [ -z "$(relay_pid node3)" ] && return 0; sleep 0.1; done; return 1; }
check "node3's relay exits once its runtime answers again" gone
done_testing
