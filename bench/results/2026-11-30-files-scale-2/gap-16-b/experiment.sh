#!/usr/bin/env bash
# 16 light nodes, 4mbit, 32 MiB; variants x reps, one lab.
set -uo pipefail
cd /work/main
export TREESYNC_LAB_DIR=/var/lib/treesync-lab-exp
LAB=scripts/lab; N=${N:-16}; OUT=${OUT:-/tmp/exp/out}; mkdir -p $OUT
$LAB down >/dev/null 2>&1 || true
trap '$LAB down >/dev/null 2>&1 || true' EXIT
$LAB up $N --light >/dev/null || exit 1
INV=$TREESYNC_LAB_DIR/treesync.yaml; TS=$($LAB bin build)
d=$TREESYNC_LAB_DIR/hosts/source/tmp/model; rm -rf $d; mkdir -p $d
for i in 1 2 3 4; do head -c $((8*1048576)) /dev/urandom > $d/shard-$i-of-4.bin; done; echo '{}' > $d/config.json
$LAB exec source $TS --inventory $INV --files /tmp/model --dest /root/models --nodes 0-$((N-1)) --dry-run > $OUT/dry.log 2>&1
hosts="source $(seq -f node%g 1 $N)"
for rep in ${REPS:-1 2}; do
for variant in ${VARIANTS:-main win wincubic cubic}; do
  for h in $hosts; do rm -f $TREESYNC_LAB_DIR/hosts/$h/tmp/treesync-exp-*; done
  case $variant in
    main|ackprio|nogso) for h in $hosts; do touch $TREESYNC_LAB_DIR/hosts/$h/tmp/treesync-exp-nowin; done ;;
    cubic) for h in $hosts; do touch $TREESYNC_LAB_DIR/hosts/$h/tmp/treesync-exp-nowin $TREESYNC_LAB_DIR/hosts/$h/tmp/treesync-exp-cubic; done ;;
    wincubic) for h in $hosts; do touch $TREESYNC_LAB_DIR/hosts/$h/tmp/treesync-exp-cubic; done ;;
  esac
  for h in $(seq -f node%g 1 $N); do rm -rf $TREESYNC_LAB_DIR/hosts/$h/root/models; done
  $LAB shape 4mbit >/dev/null
  if [ "$variant" = nogso ]; then
    sw=$(cat $TREESYNC_LAB_DIR/hosts/switch/pid)
    for h in $hosts; do
      p=$(cat $TREESYNC_LAB_DIR/hosts/$h/pid)
      nsenter -t $p -n ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1 || echo "ethtool failed on $h"
      nsenter -t $sw -n ethtool -K tsl-$h tso off gso off gro off >/dev/null 2>&1 || echo "ethtool failed on sw $h"
    done
  fi
  if [ "$variant" = ackprio ]; then
    sw=$(cat $TREESYNC_LAB_DIR/hosts/switch/pid)
    for h in $hosts; do
      p=$(cat $TREESYNC_LAB_DIR/hosts/$h/pid)
      for spec in "$p eth0" "$sw tsl-$h"; do
        set -- $spec
        nsenter -t $1 -n tc qdisc del dev $2 root
        nsenter -t $1 -n tc qdisc add dev $2 root handle 1: htb default 11
        nsenter -t $1 -n tc class add dev $2 parent 1: classid 1:1 htb rate 4mbit ceil 4mbit quantum 60000
        nsenter -t $1 -n tc class add dev $2 parent 1:1 classid 1:10 htb rate 400kbit ceil 4mbit prio 0 quantum 1514
        nsenter -t $1 -n tc class add dev $2 parent 1:1 classid 1:11 htb rate 3600kbit ceil 4mbit prio 1 quantum 60000
        nsenter -t $1 -n tc filter add dev $2 parent 1: protocol ip prio 1 u32 match u16 0x0000 0xff80 at 2 flowid 1:10
      done
    done
  fi
  tcpc() { for h in $hosts; do p=$(cat $TREESYNC_LAB_DIR/hosts/$h/pid); nsenter -t $p -n cat /proc/net/snmp /proc/net/netstat; done | awk '/^Tcp: [A-Z]/ {for(i=2;i<=NF;i++) k[i]=$i; next} /^Tcp: [0-9]/ {for(i=2;i<=NF;i++) if (k[i]=="RetransSegs") r+=$i; next} /^TcpExt: [A-Z]/ {for(i=2;i<=NF;i++) e[i]=$i; next} /^TcpExt: [0-9]/ {for(i=2;i<=NF;i++) {if (e[i]=="TCPTimeouts") t+=$i; if (e[i]=="TCPLossProbes") l+=$i}} END {print r+0, t+0, l+0}'; }
  read r0 t0c l0 < <(tcpc)
  t0=$(date +%s.%N)
  $LAB exec source $TS --inventory $INV --files /tmp/model --dest /root/models --nodes 0-$((N-1)) --fanout 4 \
     --json /root/rep-$variant-$rep.json > $OUT/$variant-$rep.log 2>&1
  rc=$?
  read r1 t1c l1 < <(tcpc)
  drops=$(for h in $hosts; do p=$(cat $TREESYNC_LAB_DIR/hosts/$h/pid); nsenter -t $p -n tc -s qdisc show dev eth0; done | awk '/dropped/ {gsub(",","",$7); d+=$7} END {print d+0}')
  echo "$variant $rep retrans $((r1-r0)) timeouts $((t1c-t0c)) tlp $((l1-l0)) drops-up $drops" | tee -a $OUT/summary.txt
  t=$(awk "BEGIN{print $(date +%s.%N)-$t0}")
  cp $TREESYNC_LAB_DIR/hosts/source/root/rep-$variant-$rep.json $OUT/
  echo "$variant $rep rc=$rc $t $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=sorted(n["seconds"] for n in d["nodes"]); print("first %.1f median %.1f last %.1f" % (s[0], s[len(s)//2], s[-1]))' $OUT/rep-$variant-$rep.json)" | tee -a $OUT/summary.txt
  $LAB shape off >/dev/null
done
done
