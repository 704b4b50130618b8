#!/bin/bash
# 256 light nodes, 4mbit: default vs --limit-rate 3.9M (one run each)
set -u
cd /work/wt-bench
export TREESYNC_LAB_DIR=/var/lib/treesync-lab-bench
LAB=scripts/lab; N=${N:-256}
$LAB down >/dev/null 2>&1
$LAB up $N --light >/dev/null || exit 1
TS=$($LAB bin build); INV=$TREESYNC_LAB_DIR/treesync.yaml
d=$TREESYNC_LAB_DIR/hosts/source/tmp/model; rm -rf $d; mkdir -p $d
for i in 1 2 3 4; do head -c $((8*1048576)) /dev/urandom > $d/shard-$i-of-4.bin; done; echo '{}' > $d/config.json
ts() { $LAB exec source $TS --inventory $INV "$@"; }
ts --files /tmp/model --dest /root/models --nodes 0-$((N-1)) --dry-run > /tmp/exp/dry.log 2>&1 || { echo dry failed; tail -3 /tmp/exp/dry.log; }
$LAB shape 4mbit
for v in ${VARIANTS:-cap default}; do
  for h in $(seq -f node%g 1 $N); do rm -rf $TREESYNC_LAB_DIR/hosts/$h/root/models; done
  extra=(); [ $v = cap ] && extra=(--limit-rate 3.9M)
  t0=$(date +%s.%N)
  ts --files /tmp/model --dest /root/models --nodes 0-$((N-1)) --fanout 4 "${extra[@]}" --json /root/r-$v.json > /tmp/exp/$v.log 2>&1; rc=$?
  t=$(awk "BEGIN{print $(date +%s.%N)-$t0}")
  cp $TREESYNC_LAB_DIR/hosts/source/root/r-$v.json /tmp/exp/
  echo "$v rc=$rc wall=$t" | tee -a /tmp/exp/summary.txt
done
$LAB down >/dev/null
