// Which layers each node gets: chain IDs, needs from what a node holds, and
// the per-subtree streams of a tree (exhaustively over small trees).
#include <catch2/catch.hpp>

#include <random>

#include "src/cache/bundle_plan.h"
#include "src/cache/chain_ids.h"

using namespace treesync;

namespace {

std::string digest(char c) { return "sha256:" + std::string(64, c); }

// Parts as prepare_bundle lays them out: configs, then distinct layers.
Bundle make_bundle(const std::vector<WantedImage>& images) {
  Bundle b;
  b.images = images;
  for (const auto& img : images) {
    b.parts.push_back({wire::PartKind::Config, img.id, wire::Codec::None, 5, 5});
    b.layer.push_back("");
  }
  std::set<std::string> seen;
  for (const auto& img : images)
    for (const auto& d : img.diff_ids)
      if (seen.insert(d).second) {
        b.parts.push_back({wire::PartKind::Layer, d, wire::Codec::Zstd, 100, 300});
        b.layer.push_back(d);
      }
  return b;
}

std::set<std::string> chains_of(const std::vector<std::vector<std::string>>& images) {
  return node_chains(images);
}

std::set<std::string> layers_of(const Bundle& b, const PartList& list) {
  std::set<std::string> out;
  for (std::size_t i : list)
    if (!b.layer[i].empty()) out.insert(b.layer[i]);
  return out;
}

}  // namespace

TEST_CASE("chain IDs follow Docker's rule (checked against sha256 of the joined text)") {
  auto chains = chain_ids({digest('a'), digest('b'), digest('c')});
  REQUIRE(chains.size() == 3);
  CHECK(chains[0] == digest('a'));
  CHECK(chains[1] == "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
  CHECK(chains[2] == "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
  CHECK(chain_ids({}).empty());
}

TEST_CASE("a node gets the layers whose chain it lacks, and always the configs") {
  const std::string base = digest('1'), lib = digest('2'), v1 = digest('3'), v2 = digest('4');
  Bundle b = make_bundle({{"sha256:" + std::string(64, 'e'), {}, {base, lib, v2}}});
  SECTION("an empty node gets every layer") {
    PartList need = needed_parts(b, {});
    CHECK(need.size() == b.parts.size());
  }
  SECTION("a node with the previous version gets only the changed top layer") {
    PartList need = needed_parts(b, chains_of({{base, lib, v1}}));
    CHECK(layers_of(b, need) == std::set<std::string>{v2});
    CHECK(need[0] == 0);  // config
  }
  SECTION("a node with the image gets no layer") {
    CHECK(layers_of(b, needed_parts(b, chains_of({{base, lib, v2}}))).empty());
  }
  SECTION("the same layer on a different base is a different chain: it is sent") {
    CHECK(layers_of(b, needed_parts(b, chains_of({{lib}, {base}}))) == std::set<std::string>{lib, v2});
  }
}

TEST_CASE("a layer two images share is one part; it is sent if either image lacks its chain") {
  const std::string base = digest('1'), a = digest('2'), c = digest('3');
  Bundle b = make_bundle({{"sha256:" + std::string(64, 'e'), {}, {base, a}}, {"sha256:" + std::string(64, 'f'), {}, {base, c}}});
  CHECK(b.layers_in(needed_parts(b, {})) == 3);
  CHECK(layers_of(b, needed_parts(b, chains_of({{base, a}}))) == std::set<std::string>{c});
}

TEST_CASE("part list helpers") {
  CHECK(merge_parts({0, 2, 5}, {1, 2, 7}) == PartList{0, 1, 2, 5, 7});
  CHECK(contains_parts({0, 1, 2, 5}, {1, 5}));
  CHECK_FALSE(contains_parts({0, 1, 2}, {3}));
  CHECK(positions_in({0, 2, 5, 9}, {2, 9}) == std::vector<std::size_t>{1, 3});
}

TEST_CASE("a subtree's stream is exactly the union of its nodes' needs, for every tree up to 40 nodes") {
  std::mt19937 rng(11);
  for (std::size_t n = 1; n <= 40; ++n)
    for (int fanout = 1; fanout <= 5; ++fanout) {
      std::vector<topology::Node> nodes(n);
      std::vector<PartList> needs(n);
      for (std::size_t i = 0; i < n; ++i) {
        needs[i] = {0};
        for (std::size_t p = 1; p < 12; ++p)
          if (rng() % 3 == 0) needs[i].push_back(p);
      }
      topology::Plan plan = topology::tree_plan(nodes, fanout);
      std::vector<PartList> streams = subtree_streams(plan, needs);
      for (std::size_t i = 0; i < n; ++i) {
        PartList expect;
        for (std::size_t j = 0; j < n; ++j) {  // j in i's subtree?
          int p = static_cast<int>(j);
          while (p >= 0 && p != static_cast<int>(i)) p = plan.parent[static_cast<std::size_t>(p)];
          if (p == static_cast<int>(i)) expect = merge_parts(expect, needs[j]);
        }
        REQUIRE(streams[i] == expect);
        for (int c : plan.children[i]) REQUIRE(contains_parts(streams[i], streams[static_cast<std::size_t>(c)]));
      }
    }
}
