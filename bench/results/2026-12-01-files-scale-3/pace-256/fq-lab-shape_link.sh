# The lab link tried for default-fq-lab.*: scripts/lab's shape_link with the
# data also shared fairly between destinations (16 htb classes by the low 4
# bits of the destination address), as fq_codel shares it between flows.
# Not kept: 150.9 s at 256 nodes against 150.2 s without it (README).
shape_link() {  # PID DEV RATE
  local kbit b; kbit=$(rate_kbit "$3")
  {
    echo "qdisc add dev $2 root handle 1: htb default 10f"
    echo "class add dev $2 parent 1: classid 1:1 htb rate $3 ceil $3 quantum 60000"
    echo "class add dev $2 parent 1:1 classid 1:1ff htb rate $((kbit / 10 + 1))kbit ceil $3 prio 0 quantum 1514"
    for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
      echo "class add dev $2 parent 1:1 classid 1:10$b htb rate $((kbit * 9 / 160 + 1))kbit ceil $3 prio 1 quantum 1514"
    done
    echo "filter add dev $2 parent 1: prio 1 protocol ip u32 match u16 0x0000 0xff80 at 2 flowid 1:1ff"
    echo "filter add dev $2 parent 1: prio 1 handle 2: protocol ip u32 divisor 16"
    echo "filter add dev $2 parent 1: prio 1 protocol ip u32 ht 800:: match u8 0 0 hashkey mask 0x0000000f at 16 link 2:"
    for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
      echo "filter add dev $2 parent 1: prio 1 protocol ip u32 ht 2:$b: match u8 0 0 flowid 1:10$b"
    done
  } | nsenter -t "$1" -n -- tc -batch -
}
