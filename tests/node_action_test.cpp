#include <catch2/catch.hpp>

#include "src/delivery/node_action.h"

using namespace treesync;

namespace {
const std::string A = "sha256:" + std::string(64, 'a');
const std::string B = "sha256:" + std::string(64, 'b');
const std::vector<WantedImage> kWanted = {{A, {"app:1", "app:latest"}}, {B, {"web:2"}}};
}  // namespace

TEST_CASE("a node with every image and tag is skipped") {
  std::map<std::string, NodeImage> node = {{A, {true, {"app:1", "app:latest", "x:9"}}}, {B, {true, {"web:2"}}}};
  Decision d = decide(kWanted, node, false);
  CHECK(d.action == Action::Skip);
  CHECK(d.tags.empty());
}

TEST_CASE("a node with the IDs but not every tag is only tagged") {
  std::map<std::string, NodeImage> node = {{A, {true, {"app:1"}}}, {B, {true, {}}}};
  Decision d = decide(kWanted, node, false);
  CHECK(d.action == Action::Tag);
  CHECK(d.tags[A] == std::vector<std::string>{"app:latest"});
  CHECK(d.tags[B] == std::vector<std::string>{"web:2"});
}

TEST_CASE("a node missing any image loads, and gets every tag") {
  std::map<std::string, NodeImage> node = {{A, {true, {"app:1", "app:latest"}}}, {B, {false, {}}}};
  Decision d = decide(kWanted, node, false);
  CHECK(d.action == Action::Load);
  CHECK(d.tags[A].size() == 2);
  CHECK(d.tags[B] == std::vector<std::string>{"web:2"});
  CHECK(decide(kWanted, {}, false).action == Action::Load);
}

TEST_CASE("--force loads even a complete node") {
  std::map<std::string, NodeImage> node = {{A, {true, {"app:1", "app:latest"}}}, {B, {true, {"web:2"}}}};
  Decision d = decide(kWanted, node, true);
  CHECK(d.action == Action::Load);
  CHECK(d.tags.size() == 2);
}
