# shellcheck shell=bash
# What the benchmarks share (bench/run, bench/compare, bench/runtimes, bench/sim-validate):
# the lab lock, clocks, the source's byte counter, image facts and the
# registry on the source host. Sourced; the script sets LAB (scripts/lab) and
# TREESYNC_LAB_DIR before it calls anything but bench_lock.

SRC_IP=198.18.0.10
REG="$SRC_IP:5000"

# The lab is one per machine and shared: whoever uses it holds this lock from
# up to down. bench_lock NAME SCRIPT ARGS... re-runs SCRIPT under the lock
# unless it is already held by us (a caller ran us under `flock
# /tmp/treesync-lab.lock`, or we re-ran).
LAB_LOCK=/tmp/treesync-lab.lock
holding_lab_lock() {
  [ "${TREESYNC_LAB_LOCKED:-}" = 1 ] && return 0
  local fd; for fd in /proc/$$/fd/*; do [ "$(readlink "$fd" 2>/dev/null)" = "$LAB_LOCK" ] && return 0; done
  return 1
}
bench_lock() {
  local name=$1 script; script=$(readlink -f "$2"); shift 2
  holding_lab_lock && return 0
  flock -n "$LAB_LOCK" true 2>/dev/null || echo "$name: waiting for the lab lock $LAB_LOCK (the lab is in use)" >&2
  # -o: the lock is held by flock, not inherited by the lab's daemons.
  exec env TREESYNC_LAB_LOCKED=1 flock -o "$LAB_LOCK" "$script" "$@"
}

now() { date +%s.%N; }
since() { awk "BEGIN{printf \"%.${2:-1}f\", $(now) - $1}"; }  # START [DIGITS]: seconds since START
tx() { "$LAB" exec source cat /sys/class/net/eth0/statistics/tx_bytes; }  # bytes the source host has sent
nodes_upto() { seq -f 'node%g' 1 "$1"; }
id_of() { "$LAB" exec source docker image inspect -f '{{.Id}}' "$1"; }  # the source's image ID (its config digest)
top_layer() { "$LAB" exec source docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' "$1" | awk '{print $NF}'; }
# START LOG [DIGITS]: seconds from START (epoch) to the last node's "received
# every byte" in treesync's LOG (its lines carry wall-clock times with milliseconds).
received_since() {
  local last; last=$(grep 'received every byte' "$2" | awk '{print $1}' | sort | tail -1)
  awk -v s="$(date -d "@$1" +%H:%M:%S.%N)" -v t="$last" -v f="%.${3:-1}f" 'function tod(x, a) {
    split(x, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] } BEGIN { d = tod(t) - tod(s);
    if (d < 0) d += 86400; printf f, d }'
}
# The pid of HOST's treesync relay (its serve process), as this machine sees it.
relay_pid() { pgrep --ns "$(cat "$TREESYNC_LAB_DIR/hosts/$1/pid")" --nslist net -f 'treesync-relay-[0-9a-f]{32} serve' | head -1; }
# treesync's layer cache on the source emptied (the script sets SRC_HOME):
# the next run saves every layer again, as an operator's first run does.
empty_cache() { find "$SRC_HOME/.cache/treesync/layers" "$SRC_HOME/.cache/treesync/configs" -mindepth 1 -delete; }
wipe_nodes() {  # N: the first N nodes hold no image
  local n
  for n in $(nodes_upto "$1"); do
    "$LAB" exec "$n" sh -c 'docker image ls -aq | sort -u | xargs -r docker rmi -f' >/dev/null 2>&1 || true
  done
}
# What treesync sends for an image to an empty node (every layer, as sent);
# the script defines ts (treesync on the source with the lab's inventory).
bundle_bytes() {
  ts --image "$1" --force --dry-run --quiet --json - 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["archive"]["bytes"])'
}

# A fresh, empty registry (Debian's docker-registry) on the source host,
# plain HTTP on the lab bridge (the lab's Docker daemons list it as insecure);
# registry_down stops it by its PID.
reg_pidfile() { echo "$TREESYNC_LAB_DIR/registry.pid"; }
registry_running() { [ -f "$(reg_pidfile)" ] && kill -0 "$(cat "$(reg_pidfile)")" 2>/dev/null; }
registry_up() {
  command -v docker-registry >/dev/null || apt-get install -y -qq docker-registry >/dev/null
  local store="$TREESYNC_LAB_DIR/registry"; rm -rf "$store"; mkdir -p "$store"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' "$store" "$REG" \
    >"$TREESYNC_LAB_DIR/registry.yml"
  # shellcheck disable=SC2016
  "$LAB" exec source setsid sh -c 'echo $$ >"$1"; exec docker-registry serve "$2"' _ "$(reg_pidfile)" \
    "$TREESYNC_LAB_DIR/registry.yml" </dev/null >"$TREESYNC_LAB_DIR/registry.log" 2>&1 &
  local i
  for i in $(seq 100); do "$LAB" exec source bash -c "exec 3<>/dev/tcp/$SRC_IP/5000" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: the registry did not come up: $(tail -3 "$TREESYNC_LAB_DIR/registry.log")" >&2; return 1
}
registry_down() {
  registry_running || { rm -f "$(reg_pidfile)"; return 0; }
  local pid; pid=$(cat "$(reg_pidfile)")
  kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$(reg_pidfile)"
}
