#!/usr/bin/env bash
# The demo's rollout (demo/app:1, --fanout 2; 4 nodes and a 16 MiB layer
# to keep it short) with the treesync of the .deb, its files laid out as the
# package installs them (usr/bin/treesync, usr/lib/treesync/treesync-relay,
# no relay beside treesync): it finds the packaged relay and every node's
# own Docker then has demo/app:1 with the source's ID. (ctest package_deb
# installs the same .deb with apt-get on a clean Debian 12; this runs it
# against real nodes.)
set -euo pipefail
. "$(dirname "$0")/own_lab.sh" /var/lib/treesync-lab-package 4

(cd "$BUILD" && cpack -G DEB >/dev/null)
deb=$BUILD/treesync_$("$BUILD/treesync" --version | awk '{print $NF}')_amd64.deb
pkg=$TREESYNC_LAB_DIR/pkg  # in the lab's folder, which its hosts see
rm -rf "$pkg"
dpkg-deb -x "$deb" "$pkg"
check "the package has no relay beside treesync" [ ! -e "$pkg/usr/bin/treesync-relay" ]
ensure_image demo/app:1 16

TS=$pkg/usr/bin/treesync
run_ts --image demo/app:1 --fanout 2
check "the packaged treesync exits 0" rc_is 0
check "every node has demo/app:1 with the source's ID" all_nodes_have demo/app:1
done_testing
