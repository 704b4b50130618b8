#!/usr/bin/env bash
# Soak: 20 forced tree runs alternating two versions of one tag across all
# nodes (each run first removes the version it sends, so its layer travels),
# with a random node's relay killed mid-run in five of them. Afterwards every
# node has the last version and no process, port, spool or temp file is left.
. "$(dirname "$0")/lib.sh"
ensure_image soak:1 8
ensure_image soak:2 8
"$LAB" shape 100mbit
trap '"$LAB" shape off' EXIT
run_ts --image soak:1 --dry-run >/dev/null
runs=0 kills=0 failed_runs=0
for i in $(seq 20); do
  v=$((i % 2 + 1))
  "$LAB" exec source docker tag "soak:$v" soak:live
  want=$(source_id soak:live)
  for n in "${NODES[@]}"; do "$LAB" exec "$n" docker rmi -f "$want" >/dev/null 2>&1 || true; done
  if [ $((i % 4)) = 3 ]; then
    victim=${NODES[$((RANDOM % ${#NODES[@]}))]}
    start_ts --image soak:live --mode tree --fanout 2 --stall-timeout 10 --force
    wait_spool "$victim" $((1 << 20))
    pid=$(relay_pid "$victim"); [ -n "$pid" ] && kill -KILL "$pid" && kills=$((kills + 1))
    wait_ts >/dev/null
    [ "$RC" = 0 ] || failed_runs=$((failed_runs + 1))
    [ "$RC" = 0 ] || grep -qE "^$victim .* failed " <<<"$OUT" || fail "run $i: exit $RC but $victim did not fail"
    for n in "${NODES[@]}"; do
      [ "$n" = "$victim" ] && continue
      [ "$(node_id "$n" soak:live)" = "$want" ] || fail "run $i: $n lacks version $v after $victim was killed"
    done
  else
    run_ts --image soak:live --mode tree --fanout 2 --force >/dev/null
    [ "$RC" = 0 ] || { echo "$OUT"; fail "run $i (version $v) exited $RC"; }
    all_nodes_have soak:live >/dev/null || fail "run $i: not every node has version $v"
  fi
  runs=$((runs + 1))
done
echo "  $runs runs, $kills relays killed, $failed_runs runs reported a failed node"
check "20 runs done" [ "$runs" = 20 ]
check "5 relays were killed" [ "$kills" = 5 ]
check "every node ends with the last version" all_nodes_have soak:live
for n in "${NODES[@]}"; do
  check "$n listens on nothing but sshd" [ "$("$LAB" exec "$n" ss -Hltn | awk '{print $4}' | grep -vc ':22$' || true)" = 0 ]
done
assert_clean
done_testing
