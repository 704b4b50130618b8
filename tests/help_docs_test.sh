#!/usr/bin/env bash
# Every flag `treesync --help` lists is in the man page and in both shell
# completions (scripts/help-docs writes them at build time from that help),
# and the bash completion really completes them.
# usage: help_docs_test.sh TREESYNC HELP_DOCS_DIR
set -euo pipefail
ts=$1 dir=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
flags=$("$ts" --help | grep -oE '^ +(-[a-z], )?--[a-z][a-z-]*' | grep -oE -- '-(-[a-z][a-z-]*|[a-z])$')
[ "$(wc -l <<<"$flags")" -gt 20 ] || fail "found only $(wc -l <<<"$flags") flags in treesync --help"
man=$(zcat "$dir/treesync.1.gz")
for f in $flags; do
  grep -qF -- "\\fB${f//-/\\-}\\fR" <<<"$man" || fail "$f is in --help but not in the man page"
  grep -qE -- "(^|[ \"])$f( |\")" "$dir/treesync" || fail "$f is in --help but not in the bash completion"
  grep -qE -- "'$f\[|[{,]$f[,}]" "$dir/_treesync" || fail "$f is in --help but not in the zsh completion"
done
# The bash completion at work: flags by prefix, the commands first, paths after FILE options.
complete_words() { COMP_WORDS=(treesync "$@"); COMP_CWORD=$#; COMPREPLY=(); _treesync; echo "${COMPREPLY[*]}"; }
# shellcheck source=/dev/null
source "$dir/treesync"
[ "$(complete_words --ver)" = "--verbose --version" ] || fail "bash completes --ver to '$(complete_words --ver)'"
[ "$(complete_words st)" = "status stage" ] || fail "bash completes the command st to '$(complete_words st)'"
cd "$dir"
[ "$(complete_words --json _treesy)" = "_treesync" ] || fail "bash does not complete a file after --json"
[ -z "$(complete_words --fanout '')" ] || fail "bash offers words for --fanout's number"
echo "$(wc -l <<<"$flags") flags of --help in the man page and both completions"
