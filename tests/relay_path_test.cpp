// Where treesync finds its relay: beside itself first (build tree, lab copy),
// then where the Debian package installs it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "src/ssh/relay_path.h"
#include "tests/temp_dir.h"

TEST_CASE("each relay is looked for beside treesync, then in its prefix's lib/treesync") {
  using V = std::vector<std::string>;
  CHECK(treesync::relay_candidates("/usr/bin/treesync") ==
        V{"/usr/bin/treesync-relay", "/usr/lib/treesync/treesync-relay"});
  CHECK(treesync::relay_candidates("/work/wt/build/treesync") ==
        V{"/work/wt/build/treesync-relay", "/work/wt/lib/treesync/treesync-relay"});
  CHECK(treesync::relay_candidates("/opt/ts/bin/treesync") ==
        V{"/opt/ts/bin/treesync-relay", "/opt/ts/lib/treesync/treesync-relay"});
  CHECK(treesync::relay_candidates("/usr/bin/treesync", "treesync-relay-arm64") ==
        V{"/usr/bin/treesync-relay-arm64", "/usr/lib/treesync/treesync-relay-arm64"});
}

TEST_CASE("an installed treesync finds its relay; one beside it wins") {
  namespace fs = std::filesystem;
  TempDir tmp("relay-path");
  const fs::path exe = tmp.path / "usr/bin/treesync";
  const fs::path installed = tmp.path / "usr/lib/treesync/treesync-relay";
  fs::create_directories(exe.parent_path());
  fs::create_directories(installed.parent_path());
  // Nothing there: the error names where a build puts it.
  CHECK(treesync::find_relay(exe.string()) == (tmp.path / "usr/bin/treesync-relay").string());
  std::ofstream(installed) << "relay";
  CHECK(treesync::find_relay(exe.string()) == installed.string());
  std::ofstream(tmp.path / "usr/bin/treesync-relay") << "relay";
  CHECK(treesync::find_relay(exe.string()) == (tmp.path / "usr/bin/treesync-relay").string());
}
