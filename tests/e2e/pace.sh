#!/usr/bin/env bash
# The automatic pace on shaped links (20 Mbit/s each way): a striped
# rollout to 6 nodes ends right, and the source measured its link within
# a few percent of the shaping (the rate on the wire, as tc counts it);
# with --pace off or a cap, no host is paced and the source says nothing of it.
. "$(dirname "$0")/lib.sh"
[ "${#NODES[@]}" -ge 6 ] || fail "needs a lab of 6 nodes"
ensure_image app:1 40
"$LAB" shape 20mbit
trap '"$LAB" shape off' EXIT

measured() { grep -oE 'pace: the source measured its link at [0-9.]+ Mbit/s' <<<"$OUT" | grep -oE '[0-9.]+ Mbit' | cut -d' ' -f1; }

reset_nodes
run_ts --image app:1 --mode stripes --fanout 2
check "paced by default: exits 0" rc_is 0
check "... every node shows app:1 with the source's ID" all_nodes_have app:1
RATE=$(measured)
check "... the source measured its link ($RATE Mbit/s) at 18-20.5 of the links' 20 Mbit/s" \
  awk -v r="${RATE:-0}" 'BEGIN { exit !(r >= 18 && r <= 20.5) }'

reset_nodes
run_ts --image app:1 --mode stripes --fanout 2 --pace off
check "--pace off: exits 0, every node right" eval 'rc_is 0 && all_nodes_have app:1'
check "... and nothing was paced" [ -z "$(measured)" ]

reset_nodes
run_ts --image app:1 --mode stripes --fanout 2 --limit-rate 15M
check "a cap replaces the pace: exits 0, every node right, the source not paced" \
  eval 'rc_is 0 && all_nodes_have app:1 && [ -z "$(measured)" ]'
run_ts --image app:1 --pace sometimes --dry-run
check "--pace takes auto or off: anything else is a one-line usage error" \
  eval 'rc_is 2 && out_has "--pace '"'"'sometimes'"'"' is not one of auto, off"'
done_testing
