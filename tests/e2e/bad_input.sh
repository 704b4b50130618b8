#!/usr/bin/env bash
# Bad input is refused before any connection: exit 2, one line that names the
# problem and the fix. Shell metacharacters in any field never reach a node.
. "$(dirname "$0")/lib.sh"
ensure_image app:1 5
# Every node of this inventory is unreachable: a connection attempt would
# take the 20 s connect timeout and exit 1, not 2.
FAR=/root/far.yaml
printf 'nodes:\n  - {name: a, host: 198.18.0.250}\n  - {name: b, host: 198.18.0.251, type: iarnet}\n' >"$SRC_HOME/far.yaml"

refused() {  # DESCRIPTION EXPECTED_TEXT INVENTORY_TEXT_OR_- ARGS...
  local d=$1 want=$2 inv=$3; shift 3
  local path=$FAR
  if [ "$inv" != - ]; then printf '%s' "$inv" >"$SRC_HOME/bad.yaml"; path=/root/bad.yaml; fi
  local start; start=$(date +%s)
  set +e
  OUT=$("$LAB" exec source "$TS" --inventory "$path" --connect-timeout 20 "$@" 2>&1); RC=$?
  set -e
  echo "  | $OUT"
  [ "$RC" = 2 ] || fail "$d: exit status $RC, want 2"
  [ "$(wc -l <<<"$OUT")" = 1 ] || fail "$d: more than one line"
  grep -qF -- "$want" <<<"$OUT" || fail "$d: message lacks '$want'"
  [ $(($(date +%s) - start)) -lt 10 ] || fail "$d: took too long (did it connect?)"
  ok "$d"
}

refused "malformed YAML, with line and column" "bad.yaml:3:1: malformed YAML" $'nodes:\n  - {name: a, host: [x\n' --image app:1
refused "unknown field" "unknown field 'hots'" $'nodes:\n  - {name: a, hots: h}\n' --image app:1
refused "duplicate node names" "duplicate node name 'a'" $'nodes:\n  - {name: a, host: h}\n  - {name: a, host: g}\n' --image app:1
refused "duplicate indexes" "already used by 'a'" $'nodes:\n  - {name: a, host: h, index: 1}\n  - {name: b, host: g}\n' --image app:1
refused "an empty inventory" "lists no nodes" $'nodes: []\n' --image app:1
refused "a missing inventory" "cannot read inventory /root/none.yaml" - --image app:1 --inventory /root/none.yaml
refused "a malformed --nodes" "'x!' is neither an index" - --image app:1 --nodes 'x!'
refused "a reversed --nodes range" "range 5-2 is reversed" - --image app:1 --nodes 5-2
refused "--nodes past the end" "has 2 node(s), indexes 0-1" - --image app:1 --nodes 99 --node-type all
refused "an unknown --node-type" "--node-type 'gpu' matches no node" - --image app:1 --node-type gpu
refused "--fanout 0" "--fanout must be 1..64" - --image app:1 --fanout 0
refused "--max-workers 0" "--max-workers must be 1..1000" - --image app:1 --max-workers 0
refused "no image" "no image given" - --nodes 0
refused "an image that is not local" "image nope:1 is not in the local Docker" - --image nope:1
refused "--events - with --json -" "both want stdout" - --image app:1 --events - --json -
refused "--metrics with --dry-run" "drop --metrics" - --image app:1 --metrics /root/t.prom --dry-run
refused "--events into a missing folder" "fix --events" - --image app:1 --events /root/none/ev.jsonl
# A run stopped by bad input still ends its event stream, so whoever
# follows it is not left waiting.
refused "an image that is not local, with --events" "image nope:1 is not in the local Docker" - --image nope:1 \
  --events /root/stopped.jsonl
check "its event stream is one run_finished with exit 2 and the error" \
  [ "$(events "$SRC_HOME/stopped.jsonl" "[(x['event'], x['exit_status'], 'nope:1' in x['error']) for x in e]")" = "[('run_finished', 2, True)]" ]
check "and it is valid against docs/events.schema.json" valid_events "$SRC_HOME/stopped.jsonl"
mkdir -p "$SRC_HOME/notcache" && echo mine >"$SRC_HOME/notcache/notes.txt" && chmod 755 "$SRC_HOME/notcache"
refused "a --cache-dir that holds other files" "--cache-dir /root/notcache holds 'notes.txt', which is not part of a treesync layer cache" \
  - --image app:1 --cache-dir /root/notcache
check "that directory is untouched: same files, same mode" \
  [ "$(ls -A "$SRC_HOME/notcache")" = notes.txt ] && [ "$(stat -c %a "$SRC_HOME/notcache")" = 755 ]
rm -rf "$SRC_HOME/notcache"
for bad in 'app 1' 'app"1' "app'1" 'app;id' 'app$(id)' 'app`id`' $'app\n1' 'App:1' 'app:1&&id'; do
  refused "image reference $(printf '%q' "$bad")" "is not a valid Docker reference" - --image "$bad"
done

# Metacharacters in inventory fields are refused before anything reaches a shell.
for field in 'host: "198.18.0.11;touch /tmp/pwned"' 'user: "root$(touch /tmp/pwned)"' 'name: "n`touch /tmp/pwned`"' \
             'zone: "z;touch /tmp/pwned"' 'type: "t|touch /tmp/pwned"'; do
  inv=$(printf 'nodes:\n  - {name: n1, host: 198.18.0.11, %s}\n' "$field")
  [[ "$field" == name:* || "$field" == host:* ]] && inv=$(printf 'nodes:\n  - {%s, %s}\n' \
    "$([[ "$field" == name:* ]] && echo 'host: 198.18.0.11' || echo 'name: n1')" "$field")
  refused "inventory ${field%%:*} with shell syntax" "is not" "$inv" --image app:1 --node-type all
done
for n in "${NODES[@]}"; do check "$n: no command ran (/tmp/pwned absent)" [ ! -e "$TREESYNC_LAB_DIR/hosts/$n/tmp/pwned" ]; done
rm -f "$SRC_HOME/bad.yaml" "$SRC_HOME/far.yaml"
done_testing
