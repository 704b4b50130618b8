#!/usr/bin/env bash
# What a person sees at scale, on a pseudo-terminal (script -qc, 120x40):
# 64 --light nodes get a 2 MiB files payload (cold: each gets its relay
# first); two of them cannot (DEST is a plain file there). The live display
# stays a bounded block (a frame is at most 22 lines, not one per node),
# its last total counts 62 done and 2 failed; the summary is bounded past
# 40 nodes (the 2 failed rows with their reason, the 10 slowest, a line
# counting the rest), ends with the source's bytes and cost
# (tests/e2e/screen_check.py, which bench/files-scale runs on its 1,000-node
# capture). The 62 others hold the files: sizes on each, SHA-256 on two.
set -euo pipefail
N=64
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-screen $N --light
DEST=/root/screen
PAYLOAD="$TREESYNC_LAB_DIR/hosts/source/tmp/weights"
mkdir -p "$PAYLOAD"
head -c $((2 << 20)) /dev/urandom >"$PAYLOAD/model.bin"
printf '{"layers": 2}\n' >"$PAYLOAD/config.json"
for n in node7 node50; do : >"$TREESYNC_LAB_DIR/hosts/$n/root/screen"; done  # DEST a file: no directory there

SCREEN="$TREESYNC_LAB_DIR/screen.out"
"$LAB" exec source script -qfc "stty cols 120 rows 40; $TS --inventory $INV --files /tmp/weights --dest $DEST \
  --fanout 4" /dev/null >"$SCREEN" 2>&1 || true
tail -c 3000 "$SCREEN" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/^/  | /'
check "the live frames are bounded and the summary readable at $N nodes, 2 failed" \
  python3 "$(dirname "$0")/screen_check.py" "$SCREEN" $N 2
check "the failed nodes' rows give the reason" \
  [ "$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$SCREEN" | grep -cE '^node(7|50) .* failed .*screen')" = 2 ]
want=$(cd "$PAYLOAD" && find . -type f -printf '%P %s\n' | sort)
sizes_match() {
  local n
  for n in "${NODES[@]}"; do
    case $n in node7|node50) continue ;; esac
    [ "$(cd "$TREESYNC_LAB_DIR/hosts/$n/root/screen/weights" && find . -type f -printf '%P %s\n' | sort)" = "$want" ] ||
      { echo "  $n lacks the files or their sizes"; return 1; }
  done
}
check "the 62 other nodes hold every file with its size" sizes_match
sha_of() { (cd "$1" && sha256sum config.json model.bin); }
check "node1 and node64 hold them with the source's SHA-256" \
  [ "$(sha_of "$TREESYNC_LAB_DIR/hosts/node1/root/screen/weights")$(sha_of "$TREESYNC_LAB_DIR/hosts/node64/root/screen/weights")" \
    = "$(sha_of "$PAYLOAD")$(sha_of "$PAYLOAD")" ]
done_testing
