#!/bin/bash
# 256 light nodes, 4mbit: the cap at the source only, or at the relays only (one run each)
set -u
cd /work/main
export TREESYNC_LAB_DIR=/var/lib/treesync-lab-bench
LAB=scripts/lab; N=256
$LAB down >/dev/null 2>&1
$LAB up $N --light >/dev/null || exit 1
trap '$LAB down >/dev/null 2>&1' EXIT
TS=$($LAB bin /work/wt-ci/build); INV=$TREESYNC_LAB_DIR/treesync.yaml
d=$TREESYNC_LAB_DIR/hosts/source/tmp/model; rm -rf $d; mkdir -p $d
for i in 1 2 3 4; do head -c $((8*1048576)) /dev/urandom > $d/shard-$i-of-4.bin; done; echo '{}' > $d/config.json
ts() { $LAB exec source $TS --inventory $INV "$@"; }
ts --files /tmp/model --dest /root/models --nodes 0-$((N-1)) --dry-run > /tmp/exp/dry.log 2>&1 || { echo dry failed; tail -3 /tmp/exp/dry.log; }
$LAB shape 4mbit
for v in ${VARIANTS:-source-only relays-only}; do
  for h in $(seq -f node%g 1 $N); do rm -rf $TREESYNC_LAB_DIR/hosts/$h/root/models; done
  case $v in source-only) extra=(--source-limit 3.9M) ;; relays-only) extra=(--limit-rate 3.9M --source-limit 1G --mode stripes) ;; esac
  t0=$(date +%s.%N)
  ts --files /tmp/model --dest /root/models --nodes 0-$((N-1)) --fanout 4 "${extra[@]}" --json /root/r-$v.json > /tmp/exp/$v.log 2>&1; rc=$?
  t=$(awk "BEGIN{print $(date +%s.%N)-$t0}")
  cp $TREESYNC_LAB_DIR/hosts/source/root/r-$v.json /tmp/exp/
  python3 -c "
import json; r=json.load(open('/tmp/exp/r-$v.json')); s=sorted(x['seconds'] for x in r['nodes'])
print('$v ${extra[*]}: rc=$rc wall=%.1f node first/median/last %.1f / %.1f / %.1f' % ($t, s[0], s[len(s)//2], s[-1]))" | tee -a /tmp/exp/where.txt
done
