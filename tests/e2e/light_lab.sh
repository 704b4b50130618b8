#!/usr/bin/env bash
# A lab of --light nodes (sshd only, no container runtime), more than a /24
# holds, behind a bastion: `scripts/lab status` lists them all with sshd up
# and no runtime, the nodes past the 245th have addresses beyond
# 198.19.0.255 and answer SSH there. treesync status against the last 32
# with --max-workers 32, every login through the bastion: each node gets
# its relay and is probed, and says it has no container runtime (the lab
# hid them). None is refused by the bastion, whose sshd keeps OpenSSH's
# MaxStartups 10:30:100 (past 10 logins in flight it drops new ones): the
# source has at most 8 in flight. The --json report holds the source's own
# cost, plausible, and the summary ends with it in one line.
set -euo pipefail
N=248
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-light $N --light --bastion

STATUS=$("$LAB" status) || fail "lab status says some host is down: $(grep -v ' up  *- *$' <<<"$STATUS" | head -3)"
check "lab status lists the $N nodes, each with sshd up and no runtime" \
  [ "$(grep -cE '^node[0-9]+ +198\.19\.[0-9]+\.[0-9]+ +none +up +- *$' <<<"$STATUS")" = $N ]
check "node248 is the 258th address of the nodes' /16" [ "$("$LAB" ip node248)" = 198.19.1.2 ]
check "the source reaches node248 past the /24 over SSH, through the bastion" \
  [ "$("$LAB" exec source ssh -o BatchMode=yes node248 hostname)" = node248 ]
check "a light node has no dockerd to run" bash -c '! "$1" exec node1 /usr/sbin/dockerd --version 2>/dev/null' _ "$LAB"

ensure_image app:1 1
run_ts status --image app:1 --nodes "$((N - 32))-$((N - 1))" --max-workers 32 --json /root/status.json
check "status exits 1 (no node has the image)" rc_is 1
R="$SRC_HOME/status.json"
check "the report validates against docs/report.schema.json" valid_report "$R"
check "it names the 32 last nodes, node246..248 among them" \
  [ "$(report "$R" "sorted(n['name'] for n in r['nodes'])[-3:]")" = "['node246', 'node247', 'node248']" ]
check "each got its relay started and probed (none refused at connect): no container runtime" \
  [ "$(report "$R" "sum(n['step'] == 'probe' and 'no container runtime on this node' in n['error'] for n in r['nodes'])")" = 32 ]
check "the source's cost is there and plausible" \
  [ "$(report "$R" "(lambda c: c['cpu_seconds'] > 0 and c['peak_rss_bytes'] > 2**20 and c['peak_threads'] >= 1
                    and c['peak_fds'] >= 3)(r['source_cost'])")" = True ]
check "the summary ends with the source's cost in one line" \
  grep -qE '^source: [0-9.]+ s CPU, [0-9.]+ MiB peak RSS, [0-9]+ threads, [0-9]+ open files at peak$' \
  <<<"$(tail -1 <<<"$OUT")"
done_testing
