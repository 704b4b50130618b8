#!/usr/bin/env bash
# The Debian package on a clean Debian 12: CPack builds it, apt-get installs
# it into a fresh minbase root (debootstrap from Debian's mirror; the root is
# cached as a tarball under /var/cache/treesync-test for later runs), pulling
# its runtime libraries by dependency, and the installed treesync runs there.
# usage: deb_install_test.sh BUILD_DIR
set -euo pipefail
build=$1
# The mirror this machine's apt uses (CI reaches Debian's mirror and nothing
# else), else deb.debian.org.
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
  grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
cache=/var/cache/treesync-test/bookworm-minbase.tar.gz
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || fail "debootstrap not found: run scripts/setup"

work=$(mktemp -d /var/tmp/treesync-deb.XXXXXX)
root=$work/root
# Never rm -rf through a mount that is still there.
cleanup() { umount "$root/proc" 2>/dev/null || true; mountpoint -q "$root/proc" || rm -rf "$work"; }
trap cleanup EXIT

start=$SECONDS
(cd "$build" && cpack -G DEB) >"$work/cpack.log" 2>&1 || { tail -20 "$work/cpack.log"; fail "cpack could not build the package"; }
version=$("$build/treesync" --version | awk '{print $NF}')
deb=$build/treesync_${version}_amd64.deb
[ -f "$deb" ] || fail "cpack made no $deb"
ok "cpack built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) in $((SECONDS - start)) s"

mkdir -p "$(dirname "$cache")" "$root"
exec 9>"$cache.lock"
flock 9  # one run makes the cached root; a second waits for it
if [ -s "$cache" ]; then
  tar -C "$root" -xzf "$cache"
  ok "clean Debian 12 root from $cache"
else
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -5 "$work/debootstrap.log"; fail "debootstrap of Debian 12 from $mirror failed"; }
  tar -C "$root" -czf "$cache.tmp" . && mv "$cache.tmp" "$cache"
  ok "clean Debian 12 root by debootstrap --variant=minbase (cached in $cache)"
fi
exec 9>&-

# A Debian 12 as installed: its security and point-release updates too.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror}-security bookworm-security main
SOURCES
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }
! in_root sh -c 'command -v treesync' >/dev/null || fail "the clean root already has a treesync"

start=$SECONDS
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { tail -5 "$work/apt.log"; fail "apt-get update in the root failed"; }
in_root sh -c "cd /tmp && apt-get install -y ./$(basename "$deb")" >"$work/apt.log" 2>&1 ||
  { tail -20 "$work/apt.log"; fail "apt-get install ./$(basename "$deb") failed in a clean Debian 12"; }
ok "apt-get install ./$(basename "$deb") in $((SECONDS - start)) s, pulling: $(sed -n '/^The following NEW packages/,/^[0-9]* upgraded/p' "$work/apt.log" | sed '1d;$d' | xargs)"
in_root dpkg -s treesync | grep '^Depends:'

got=$(in_root treesync --version) || fail "the installed treesync --version failed: $got"
[ "$got" = "$("$build/treesync" --version)" ] || fail "installed treesync --version says '$got'"
ok "treesync --version: $got"
in_root treesync --help | grep -q -- '--image REF' || fail "the installed treesync --help lists no --image"
ok "treesync --help"
# Both relays, each what its name says (the one for x86-64 nodes, the one
# for arm64 nodes), byte for byte the build's.
# e_machine (ELF offset 18): 62 x86-64, 183 aarch64; static: no INTERP.
for f in treesync-relay:62 treesync-relay-arm64:183; do
  r=/usr/lib/treesync/${f%%:*}
  [ -x "$root$r" ] || fail "$r is not installed or not executable"
  machine=$(od -An -tu2 -j18 -N2 "$root$r" | tr -d ' ')
  [ "$machine" = "${f#*:}" ] || fail "$r is for ELF machine $machine, not ${f#*:}"
  ! readelf -l "$root$r" | grep -q INTERP || fail "$r is not static"
  cmp -s "$root$r" "$build/${f%%:*}" || fail "$r is not the build's ${f%%:*}"
done
for f in /usr/share/man/man1/treesync.1.gz /usr/share/bash-completion/completions/treesync \
         /usr/share/zsh/vendor-completions/_treesync /usr/share/doc/treesync/README.md \
         /usr/share/doc/treesync/guide.en.md /usr/share/doc/treesync/guide.zh.md; do
  [ -s "$root$f" ] || fail "$f is not installed"
done
in_root gzip -t /usr/share/man/man1/treesync.1.gz || fail "the man page is not a good gzip"
ok "both relays (x86-64, aarch64), man page, bash and zsh completions and guides installed"
