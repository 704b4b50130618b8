#include <catch2/catch.hpp>

#include <numeric>

#include "topology/cost.h"
#include "topology/stripes.h"

using namespace topology;

namespace {

constexpr std::uint64_t kChunk = 1 << 20;
constexpr std::uint64_t kMB = 1000000;

std::vector<Node> nodes(std::size_t n) {
  std::vector<Node> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({"n" + std::to_string(i), ""});
  return out;
}

std::vector<std::uint64_t> same(std::size_t n, std::uint64_t bytes) { return std::vector<std::uint64_t>(n, bytes); }

}  // namespace

TEST_CASE("a sender uploads at its cap or its link, whichever is lower; 0 is unknown") {
  CHECK(upload_rate(0, 0) == 0);
  CHECK(upload_rate(5, 0) == 5);
  CHECK(upload_rate(0, 7) == 7);
  CHECK(upload_rate(5, 7) == 5);
  CHECK(upload_rate(9, 7) == 7);
}

TEST_CASE("flat: the source sends every node's bytes through its upload") {
  Rates capped{0, 10 * kMB, {}};
  CHECK(flat_seconds(same(8, 100 * kMB), capped).value() == Approx(80));
  CHECK(flat_seconds({10 * kMB, 50 * kMB, 0, 40 * kMB}, capped).value() == Approx(10));
  // The source's own link bounds it too, whichever is lower.
  CHECK(flat_seconds(same(4, 100 * kMB), Rates{20 * kMB, 100 * kMB, {}}).value() == Approx(20));
  CHECK(flat_seconds(same(3, 60 * kMB), Rates{20 * kMB, 0, {}}).value() == Approx(9));
  // Relays' caps do not matter: nobody forwards.
  CHECK(flat_seconds(same(2, 10 * kMB), Rates{0, 10 * kMB, {kMB, kMB}}).value() == Approx(2));
  // Nothing to send takes no time, rate or not.
  CHECK(flat_seconds({}, capped).value() == 0);
  CHECK(flat_seconds(same(3, 0), Rates{}).value() == 0);
}

TEST_CASE("flat: nothing to predict without a rate at the source") {
  CHECK_FALSE(flat_seconds(same(3, kMB), Rates{}).has_value());
  CHECK_FALSE(flat_seconds(same(3, kMB), Rates{0, 0, {5 * kMB, 5 * kMB, 5 * kMB}}).has_value());
}

TEST_CASE("tree: each sender shares its upload among its children, pipelined down the depth") {
  const double bytes = 100.0 * kMB;
  for (std::size_t n = 1; n <= 40; ++n) {
    for (int fanout = 1; fanout <= 5; ++fanout) {
      Plan p = tree_plan(nodes(n), fanout);
      Rates r{0, 10 * kMB, std::vector<double>(n, 10 * kMB)};
      // Every node receives at the lowest share on its path: the cap over
      // the most children any sender on it has.
      double expected = 0;
      for (std::size_t i = 0; i < n; ++i) {
        double rate = 10.0 * kMB / static_cast<double>(p.source_children.size());
        int relays = 0;  // one chunk's time each, to fill the pipeline
        for (int at = p.parent[i]; at != kSource; at = p.parent[static_cast<std::size_t>(at)], ++relays)
          rate = std::min(rate, 10.0 * kMB / static_cast<double>(p.children[static_cast<std::size_t>(at)].size()));
        expected = std::max(expected, (bytes + relays * static_cast<double>(kChunk)) / rate);
      }
      INFO("n=" << n << " fanout=" << fanout);
      CHECK(tree_seconds(p, same(n, static_cast<std::uint64_t>(bytes)), r, kChunk).value() == Approx(expected));
      // Never worse than the source sending fanout copies (plus the pipeline's fill).
      CHECK(tree_seconds(p, same(n, static_cast<std::uint64_t>(bytes)), r, kChunk).value() <=
            Approx((fanout * bytes + fanout * p.depth() * static_cast<double>(kChunk)) / (10.0 * kMB)));
    }
  }
}

TEST_CASE("tree: a pipeline (fanout 1) takes one copy's time at the cap, plus a chunk per relay") {
  Plan p = tree_plan(nodes(8), 1);
  Rates r{0, 6 * kMB, std::vector<double>(8, 6 * kMB)};
  CHECK(tree_seconds(p, same(8, 180 * kMB), r, kChunk).value() == Approx((180.0 * kMB + 7.0 * kChunk) / (6.0 * kMB)));
  // The source's own children get theirs with no delay.
  CHECK(tree_seconds(tree_plan(nodes(4), 4), same(4, 180 * kMB), r, kChunk).value() == Approx(180.0 * 4 / 6));
}

TEST_CASE("tree: a slow relay slows only its own subtree; the link bounds every hop") {
  Plan p = tree_plan(nodes(6), 2);  // source -> 0 (1, 2), 3 (4, 5)
  REQUIRE(p.children[0] == std::vector<int>{1, 2});
  Rates r{0, 20 * kMB, {1 * kMB, 0, 0, 0, 0, 0}};  // only node 0 capped, at 1 MB/s
  // Node 0's children get 0.5 MB/s each; node 3's get the source's 10 MB/s share.
  CHECK(tree_seconds(p, same(6, 10 * kMB), r, 0).value() == Approx(20));
  r.node[0] = 0;
  CHECK(tree_seconds(p, same(6, 10 * kMB), r, 0).value() == Approx(1));
  r.link = 5 * kMB;  // the source's 20 is now its link's 5, shared by two: 2.5 each
  CHECK(tree_seconds(p, same(6, 10 * kMB), r, 0).value() == Approx(4));
}

TEST_CASE("tree: each node's own stream size counts, detached nodes do not") {
  Plan p = tree_plan(nodes(3), 1);  // 0 -> 1 -> 2
  Rates r{0, 1 * kMB, {}};
  CHECK(tree_seconds(p, {30 * kMB, 20 * kMB, 10 * kMB}, r, 0).value() == Approx(30));
  p.parent[0] = kDetached;  // what reparent leaves of a failed node
  p.source_children = {1};
  p.parent[1] = kSource;
  CHECK(tree_seconds(p, {300 * kMB, 20 * kMB, 10 * kMB}, r, 0).value() == Approx(20));
}

TEST_CASE("tree: no prediction unless every node has a known rate on its path") {
  Plan p = tree_plan(nodes(6), 2);
  CHECK_FALSE(tree_seconds(p, same(6, kMB), Rates{}, kChunk).has_value());
  // Relay caps alone leave the source's own children unknown.
  CHECK_FALSE(tree_seconds(p, same(6, kMB), Rates{0, 0, std::vector<double>(6, kMB)}, kChunk).has_value());
  // A source cap bounds every path.
  CHECK(tree_seconds(p, same(6, kMB), Rates{0, kMB, {}}, 0).value() == Approx(2));
}

TEST_CASE("auto mode: flat for one node, striped trees for more, when nothing is predicted") {
  CHECK(choose_mode(1) == Mode::Flat);
  CHECK(choose_mode(2) == Mode::Stripes);
  CHECK(choose_mode(500) == Mode::Stripes);
  // Only one mode predicted: it is the only one known to work out.
  CHECK(choose_mode(5, {1.0, std::nullopt, std::nullopt}) == Mode::Flat);
  CHECK(choose_mode(4, {std::nullopt, 1.0, std::nullopt}) == Mode::Tree);
}

TEST_CASE("auto mode: the fastest prediction wins; a tie goes to the simpler mode") {
  CHECK(choose_mode(8, {10.0, 20.0, 30.0}) == Mode::Flat);
  CHECK(choose_mode(2, {20.0, 10.0, 30.0}) == Mode::Tree);
  CHECK(choose_mode(2, {20.0, 30.0, 10.0}) == Mode::Stripes);
  CHECK(choose_mode(8, {10.0, 10.0, 10.0}) == Mode::Flat);
  CHECK(choose_mode(8, {20.0, 10.0, 10.0}) == Mode::Stripes);
}

TEST_CASE("stripes: with equal links every node gets its copy in about the time the source takes to send its copies") {
  for (std::size_t n : {1u, 2u, 4u, 8u, 100u, 1000u}) {
    for (int k : {1, 2, 4, 8}) {
      Rates r{1, 0, {}};  // relative: one copy takes 1
      const Stripes st = stripe_plan(n, k);
      const double t = stripes_seconds(st, 1000 * kChunk, r, kChunk).value() / (1000.0 * kChunk);
      int depth = 0;
      for (const auto& tree : st.trees) depth = std::max(depth, tree.depth());
      INFO("n=" << n << " k=" << k);
      CHECK(t >= 1.0);
      // The source's copies (one, but for some n not a multiple of k), and
      // a chunk's time per relay above, k stripes sharing a link.
      CHECK(t <= std::max(1.0, st.source_copies()) * (1 + static_cast<double>(k * depth) / 1000.0) + 1e-9);
    }
  }
}

TEST_CASE("auto mode, equal links: flat for one node, stripes beat flat and the plain tree from two on") {
  Rates r{1, 0, {}};
  for (std::size_t n : {1u, 2u, 4u, 8u, 64u}) {
    const auto bytes = same(n, 100 * kChunk);
    const std::vector<double> own(n, 100.0 * kChunk);
    Predictions p{flat_seconds(bytes, r), tree_seconds(tree_plan(nodes(n), 4), bytes, r, kChunk),
                  stripes_seconds(stripe_plan(n, 4), 100 * kChunk, r, kChunk)};
    INFO("n=" << n);
    CHECK(choose_mode(n, p) == (n == 1 ? Mode::Flat : Mode::Stripes));
  }
}

TEST_CASE("auto mode with caps: slow relays make flat the faster mode, a capped source the tree") {
  const std::size_t n = 8;
  const auto bytes = same(n, 100 * kMB);
  Plan tree = tree_plan(nodes(n), 4);
  // Relays at 1 MB/s, the source at 100: flat (8 copies at 100) beats a tree
  // whose relays trickle.
  Rates slow_relays{0, 100 * kMB, std::vector<double>(n, 1 * kMB)};
  Predictions a{flat_seconds(bytes, slow_relays), tree_seconds(tree, bytes, slow_relays, kChunk),
                stripes_seconds(stripe_plan(n, 4), 100 * kMB, slow_relays, kChunk)};
  CHECK(choose_mode(n, a) == Mode::Flat);
  // Everyone at 10 MB/s: the tree's 4 copies from the source beat flat's 8.
  Rates even{0, 10 * kMB, std::vector<double>(n, 10 * kMB)};
  Predictions b{flat_seconds(bytes, even), tree_seconds(tree, bytes, even, kChunk), std::nullopt};
  CHECK(choose_mode(n, b) == Mode::Tree);
  CHECK(*b.flat == Approx(80));
  // Striped, the source and every relay upload about one copy: faster still.
  b.stripes = stripes_seconds(stripe_plan(n, 4), 100 * kMB, even, kChunk);
  CHECK(*b.stripes < *b.tree);
  CHECK(choose_mode(n, b) == Mode::Stripes);
}

TEST_CASE("slow uploaders: below a third of the median of the known uplinks; unknown ones never") {
  CHECK(slow_uploaders({}) == std::vector<bool>{});
  CHECK(slow_uploaders({5}) == std::vector<bool>{false});  // nothing to compare with
  CHECK(slow_uploaders({10, 10, 1, 10, 0}) == std::vector<bool>{false, false, true, false, false});
  CHECK(slow_uploaders({10, 10, 4, 10}) == std::vector<bool>{false, false, false, false});
}

TEST_CASE("downlinks: a node's own bounds its time in every mode") {
  Rates r{10, 0, {}, {10, 10, 1}};  // links of 10, but node 2 takes in at 1
  const auto bytes = same(3, 100);
  CHECK(*flat_seconds(bytes, r) == Approx(100));  // node 2: 100 bytes at 1
  CHECK(*tree_seconds(tree_plan(nodes(3), 4), bytes, r, 0) >= 100);
  CHECK(*stripes_seconds(stripe_plan(3, 2), 100, r, 0) >= 100);
  r.down = {};
  CHECK(*flat_seconds(bytes, r) == Approx(30));
}

TEST_CASE("stripes: a slow uploader kept a leaf is what makes the others fast") {
  const std::size_t n = 8;
  Rates r{10, 0, std::vector<double>(n, 10), {}};
  r.node[3] = 1;  // node 3's uplink at a tenth
  const double with_it = *stripes_seconds(stripe_plan(n, 4), 1000, r, 0);
  const double leaf = *stripes_seconds(stripe_plan(n, 4, slow_uploaders(r.node)), 1000, r, 0);
  CHECK(with_it > 5 * leaf);
  CHECK(leaf <= 150);  // about one copy at 10 (100), the leaf's share carried by the others
}
