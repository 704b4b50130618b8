#!/usr/bin/env bash
# 16 light nodes, 4mbit; run files payload under several shapings; sample each host's eth0 rx/tx every 2 s.
set -uo pipefail
cd /work/wt-gap
export TREESYNC_LAB_DIR=/var/lib/treesync-lab-gap
LAB=scripts/lab; N=${N:-16}; OUT=/tmp/gap/out; mkdir -p $OUT
$LAB down >/dev/null 2>&1 || true
trap '$LAB down >/dev/null 2>&1 || true' EXIT
$LAB up $N --light >/dev/null || exit 1
INV=$TREESYNC_LAB_DIR/treesync.yaml
d=$TREESYNC_LAB_DIR/hosts/source/tmp/model; rm -rf $d; mkdir -p $d
for i in 1 2 3 4; do head -c $((8*1048576)) /dev/urandom > $d/shard-$i-of-4.bin; done; echo '{}' > $d/config.json
sample() {  # LABEL
  while :; do
    t=$(date +%s.%N)
    for h in source $(seq -f node%g 1 $N); do
      p=$(cat $TREESYNC_LAB_DIR/hosts/$h/pid)
      awk -v t=$t -v h=$h '/eth0:/ {print t, h, $2, $10}' /proc/$p/net/dev
    done
    sleep 2
  done > $OUT/$1.samples
}
for variant in ${VARIANTS:-pfifo}; do
  case $variant in capB) bdir=/tmp/gap/main-bin ;; *) bdir=build ;; esac
  rm -rf $TREESYNC_LAB_DIR/bin; TS=$($LAB bin $bdir)
  $LAB exec source $TS --inventory $INV --files /tmp/model --dest /root/models --nodes 0-$((N-1)) --dry-run > $OUT/dry-$variant.log 2>&1
  $LAB shape 4mbit >/dev/null
  if [ "$variant" = short ] || [ "$variant" = fqcodel ]; then
    sw=$(cat $TREESYNC_LAB_DIR/hosts/switch/pid 2>/dev/null || true)
    for h in source $(seq -f node%g 1 $N); do
      p=$(cat $TREESYNC_LAB_DIR/hosts/$h/pid)
      case $variant in
        fqcodel) nsenter -t $p -n tc qdisc add dev eth0 parent 1:1 fq_codel
                 nsenter -t $sw -n tc qdisc add dev tsl-$h parent 1:1 fq_codel ;;
        short) nsenter -t $p -n tc qdisc add dev eth0 parent 1:1 pfifo limit 100
               nsenter -t $sw -n tc qdisc add dev tsl-$h parent 1:1 pfifo limit 100 ;;
      esac
    done
  fi
  for h in $(seq -f node%g 1 $N); do rm -rf $TREESYNC_LAB_DIR/hosts/$h/root/models; done
  sample $variant & sp=$!
  ( while :; do for h in source node1 node5; do p=$(cat $TREESYNC_LAB_DIR/hosts/$h/pid); echo "== $(date +%s.%N) $h"; nsenter -t $p -n ss -tin state established 2>/dev/null | grep -A1 ':[0-9]' ; done; sleep 3; done > $OUT/$variant.ss ) & ssp=$!
  t0=$(date +%s.%N)
  $LAB exec source $TS --inventory $INV --files /tmp/model --dest /root/models --nodes 0-$((N-1)) --fanout 4 ${EXTRA:-} \
     --events /root/ev-$variant.jsonl --json /root/rep-$variant.json -v > $OUT/$variant.log 2>&1
  echo "$variant: rc=$? $(awk "BEGIN{print $(date +%s.%N)-$t0}") s"
  kill $sp $ssp; wait $sp $ssp 2>/dev/null
  cp $TREESYNC_LAB_DIR/hosts/source/root/ev-$variant.jsonl $TREESYNC_LAB_DIR/hosts/source/root/rep-$variant.json $OUT/
  for h in node1 node5; do p=$(cat $TREESYNC_LAB_DIR/hosts/$h/pid); nsenter -t $p -n tc -s qdisc show dev eth0 >> $OUT/$variant.qdisc; done
  $LAB shape off >/dev/null
done
