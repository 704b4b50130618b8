# Shared helpers for the end-to-end tests: they drive the real treesync
# against the lab's real sshd and dockerd, and check each node's real state.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TREESYNC_BUILD:-$ROOT/build}
export TREESYNC_LAB_DIR=${TREESYNC_LAB_DIR:-/var/lib/treesync-lab-test}
LAB="$ROOT/scripts/lab"
INV="$TREESYNC_LAB_DIR/treesync.yaml"
SRC_HOME="$TREESYNC_LAB_DIR/hosts/source/root"
NODES=()
for d in "$TREESYNC_LAB_DIR"/hosts/node*; do [ -d "$d" ] && NODES+=("$(basename "$d")"); done
[ "${#NODES[@]}" -gt 0 ] || { echo "FAIL: no lab at $TREESYNC_LAB_DIR (the e2e_lab_up fixture sets it up)" >&2; exit 1; }

# The build may live where lab hosts cannot see it (/tmp, /root): run a copy.
TS=$("$LAB" bin "$BUILD")
CHECKS=0
TS_ENV=()  # VAR=VALUE pairs for treesync's environment
TS_AS=()   # a command treesync runs under (as_docker_user)
TS_INV=$INV
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
# check DESCRIPTION COMMAND...: the command must succeed.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
done_testing() { echo "$CHECKS checks passed"; }

# Runs treesync on the source host; sets OUT (stdout+stderr) and RC.
run_ts() {
  set +e
  OUT=$("$LAB" exec source "${TS_AS[@]}" env "${TS_ENV[@]}" "$TS" --inventory "$TS_INV" "$@" 2>&1)
  RC=$?
  set -e
  printf '%s\n' "$OUT" | sed 's/^/  | /'
}
# run_ts with the test hook that flips a byte of the chunk holding OFFSET.
run_ts_corrupting() { local at=$1; shift; TS_ENV=("TREESYNC_TEST_CORRUPT_AT=$at"); run_ts "$@"; TS_ENV=(); }
# From here run_ts runs treesync as a user of the source who may use Docker
# (the docker group) but is not root, as many operators do: it cannot read
# Docker's layer store, so it saves. Its home, /tmp/ts-user on the source,
# holds the lab's SSH key, known_hosts, an inventory naming that key, and
# its own layer cache (USER_CACHE, as this machine sees it). as_root undoes it.
USER_CACHE="$TREESYNC_LAB_DIR/hosts/source/tmp/ts-user/.cache/treesync"
as_docker_user() {
  local home="$TREESYNC_LAB_DIR/hosts/source/tmp/ts-user" gid
  gid=$(getent group docker | cut -d: -f3) || fail "no docker group on this machine (the lab's dockerd gives it its socket)"
  rm -rf "$home"
  mkdir -p "$home/.ssh"
  cp "$SRC_HOME/.ssh/id_ed25519" "$SRC_HOME/.ssh/known_hosts" "$home/.ssh/"
  sed 's|/root/.ssh/id_ed25519|/tmp/ts-user/.ssh/id_ed25519|' "$INV" >"$home/treesync.yaml"
  chown -R 65534:"$gid" "$home"
  chmod 700 "$home" "$home/.ssh"
  TS_AS=(setpriv --reuid=65534 --regid="$gid" --clear-groups env HOME=/tmp/ts-user)
  TS_INV=/tmp/ts-user/treesync.yaml
}
as_root() { TS_AS=(); TS_INV=$INV; rm -rf "$TREESYNC_LAB_DIR/hosts/source/tmp/ts-user"; }
out_has() { grep -qF -- "$1" <<<"$OUT"; }
rc_is() { [ "$RC" = "$1" ]; }

node_id() {
  local id
  if id=$("$LAB" exec "$1" docker image inspect -f '{{.Id}}' "$2" 2>/dev/null); then echo "$id"; else echo none; fi
}
node_has_tag() { "$LAB" exec "$1" docker image inspect -f '{{join .RepoTags " "}}' "$2" 2>/dev/null | tr ' ' '\n' | grep -qxF "$3"; }
source_id() { "$LAB" exec source docker image inspect -f '{{.Id}}' "$1"; }

# Every node shows REF with the source's ID.
all_nodes_have() {
  local ref=$1 want n; want=$(source_id "$ref")
  for n in "${NODES[@]}"; do
    [ "$(node_id "$n" "$ref")" = "$want" ] || { echo "  $n: $ref is $(node_id "$n" "$ref"), want $want"; return 1; }
  done
}

# Every node's own runtime (docker, Docker's containerd store, ctr -n k8s.io,
# podman) names REF with the config digest the source's runtime gives it.
every_node_finds() {
  local ref=$1 want n got; want=$("$LAB" image-id source "$ref")
  for n in "${NODES[@]}"; do
    got=$("$LAB" image-id "$n" "$ref")
    [ "$got" = "$want" ] || { echo "  $n ($("$LAB" runtime "$n")): $ref is $got, want $want"; return 1; }
  done
}

# FILE holds only event lines (--events), each valid against
# docs/events.schema.json (Debian's python3-jsonschema).
valid_events() {
  /usr/bin/python3 - "$1" "$ROOT/docs/events.schema.json" <<'PY'
import json, sys, jsonschema
validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[2])))
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no events"
for n, line in enumerate(lines, 1):
    errors = [e.message for e in validator.iter_errors(json.loads(line))]
    assert not errors, f"line {n}: {line}: {errors}"
PY
}
# events FILE EXPR: a Python expression over the event list e.
events() { /usr/bin/python3 -c 'import json, sys; e = [json.loads(l) for l in open(sys.argv[1])]; print(eval(sys.argv[2]))' "$1" "$2"; }
# metric FILE NAME [LABEL=VALUE]: a sample's value, as Prometheus' own text
# parser reads the file (Debian's python3-prometheus-client).
metric() {
  /usr/bin/python3 - "$@" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
path, name, labels = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
found = [s.value for f in text_string_to_metric_families(open(path).read()) for s in f.samples
         if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
assert len(found) == 1, f"{name} {labels}: {len(found)} samples"
print(int(found[0]) if found[0] == int(found[0]) else found[0])
PY
}

valid_report() {  # FILE: valid against docs/report.schema.json (Debian's python3-jsonschema)
  /usr/bin/python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$1" "$ROOT/docs/report.schema.json"
}
# report FILE EXPR: a Python expression over the JSON report r.
report() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# The PID of HOST's relay (each host has its own network namespace).
relay_pid() { pgrep --ns "$(cat "$TREESYNC_LAB_DIR/hosts/$1/pid")" --nslist net -f 'treesync-relay-[0-9a-f]{32} serve' | head -1; }
# Bytes in HOST's spool (a file per stripe when the stream is striped).
spool_bytes() {
  cat "$TREESYNC_LAB_DIR"/hosts/"$1"/root/.cache/treesync/run-*/archive.spool* 2>/dev/null | wc -c || echo 0
}
# Starts treesync in the background (output in $TREESYNC_LAB_DIR/bg.out); JOB is its pid.
start_ts() {
  "$LAB" exec source "${TS_AS[@]}" env "${TS_ENV[@]}" "$TS" --inventory "$TS_INV" "$@" >"$TREESYNC_LAB_DIR/bg.out" 2>&1 &
  JOB=$!
}
wait_ts() { set +e; wait "$JOB"; RC=$?; set -e; OUT=$(cat "$TREESYNC_LAB_DIR/bg.out"); printf '%s\n' "$OUT" | sed 's/^/  | /'; }
# Waits until HOST's spool holds at least BYTES.
wait_spool() {
  local i; for i in $(seq 600); do [ "$(spool_bytes "$1")" -ge "$2" ] && return 0; sleep 0.05; done
  fail "$1's spool never reached $2 bytes"
}

ensure_image() {  # REF MB [BASE]: build it in the source's Docker once
  "$LAB" exec source docker image inspect "$1" >/dev/null 2>&1 || "$LAB" image "$@" >/dev/null
}

# What a node with none of REF's layers receives: every layer, as sent
# (compressed or not), with the manifest and config; from a report.
bundle_bytes() {
  "$LAB" exec source "$TS" --inventory "$INV" --image "$1" --force --dry-run --quiet --json - 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["archive"]["bytes"])'
}

# run_ts for REF's bundle, counting what the source's interface sends
# meanwhile: SENT (bytes) and SIZE (the bundle's), printed as copies.
run_ts_counted() {
  local ref=$1 before
  shift
  before=$("$LAB" exec source cat /sys/class/net/eth0/statistics/tx_bytes)
  run_ts "$@"
  SENT=$(($("$LAB" exec source cat /sys/class/net/eth0/statistics/tx_bytes) - before))
  SIZE=$(bundle_bytes "$ref")
  echo "  source interface sent $SENT bytes for a $SIZE-byte bundle ($(awk "BEGIN{printf \"%.2f\", $SENT/$SIZE}") copies)"
}

reset_nodes() {
  local n
  for n in "${NODES[@]}"; do
    "$LAB" exec "$n" sh -c 'docker image ls -aq | sort -u | xargs -r docker rmi -f' >/dev/null 2>&1 || true
  done
}

# No relay process, spool, upload or save temp file is left anywhere.
assert_clean() {
  local i n
  for i in $(seq 50); do pgrep -f 'treesync-relay-[0-9a-f]{32}' >/dev/null || break; sleep 0.1; done
  if pgrep -af 'treesync-relay-[0-9a-f]{32}'; then fail "relay processes left running"; fi
  for n in "${NODES[@]}"; do
    local cache="$TREESYNC_LAB_DIR/hosts/$n/root/.cache/treesync"
    if ls -A "$cache" 2>/dev/null | grep -v '^treesync-relay-' | grep -q .; then
      fail "$n: leftovers in ~/.cache/treesync: $(ls -A "$cache" | tr '\n' ' ')"
    fi
    if ls -A "$TREESYNC_LAB_DIR/hosts/$n/tmp" | grep -q .; then fail "$n: leftovers in /tmp"; fi
  done
  if ls -A "$SRC_HOME/.cache/treesync/layers" "$SRC_HOME/.cache/treesync/configs" 2>/dev/null | grep -q '^\.saving-'; then
    fail "source: layer cache temp file left"
  fi
  ok "no relay process, spool or temp file left on any host"
}
