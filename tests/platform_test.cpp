// An image built for another architecture than a node's (check_platform,
// src/delivery/node_run.h): refused for that node with one line, loaded
// anyway with --force.
#include <catch2/catch.hpp>

#include "src/delivery/node_run.h"

using namespace treesync;

namespace {

NodeRun loading_node(const std::string& arch) {
  NodeRun run;
  run.node.name = "node2";
  run.decision.action = Action::Load;
  run.probe.arch = arch;
  return run;
}

const std::vector<WantedImage> kWanted{{"sha256:aa", {"app:1"}}};
const std::map<std::string, std::string> kAmd64{{"sha256:aa", "amd64"}};

}  // namespace

TEST_CASE("an amd64 image on an arm64 node: refused, unless --force") {
  NodeRun run = loading_node("arm64");
  check_platform(run, kWanted, kAmd64, false);
  CHECK(run.failed());
  CHECK(run.result.step == "platform");
  CHECK(run.result.reason ==
        "app:1 is built for amd64, this node is arm64; build or pull app:1 for arm64 on the source "
        "(or --force to load it anyway)");

  NodeRun forced = loading_node("arm64");
  check_platform(forced, kWanted, kAmd64, true);
  CHECK(forced.loads());
}

TEST_CASE("a node of the image's architecture, or an image with none named, loads") {
  NodeRun same = loading_node("amd64");
  check_platform(same, kWanted, kAmd64, false);
  CHECK(same.loads());
  NodeRun unknown = loading_node("arm64");
  check_platform(unknown, kWanted, {{"sha256:aa", ""}}, false);
  CHECK(unknown.loads());
}
