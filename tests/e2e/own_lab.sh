# For a test with a lab of its own, run after the shared lab is down (one
# lab per machine): `. own_lab.sh FOLDER UP-ARGS…` brings up a fresh lab in
# FOLDER with `scripts/lab up UP-ARGS…`, takes it down on exit, and loads
# lib.sh. ROOT is the project.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TREESYNC_LAB_DIR=$1
shift
"$ROOT/scripts/lab" down >/dev/null
trap '"$ROOT/scripts/lab" down >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$ROOT/scripts/lab" up "$@"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
