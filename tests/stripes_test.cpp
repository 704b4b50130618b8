#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>

#include "plan_shape.h"
#include "topology/stripes.h"

using namespace topology;

namespace {

// ceil(log_k n) for k >= 2, n >= 1.
int ceil_log(std::size_t n, int k) {
  int d = 0;
  for (std::size_t reach = 1; reach < n; reach *= static_cast<std::size_t>(k)) ++d;
  return d;
}

// The invariants every layout keeps, with or without leaf-only nodes: each
// node once in every tree, the source feeds one node per tree (one copy)
// while any node may forward, no node uploads more than its share (as many
// stripes as there are: one copy; more when leaf-only nodes leave theirs to
// the others; nothing for a leaf-only node), `interior` names a tree the
// node forwards in, and the depth is about log_k n + 1 (k = 1: the chain).
void check_stripes(const Stripes& st, std::size_t n, int k, const std::vector<bool>& leaf = {}) {
  std::size_t may = 0;
  for (std::size_t i = 0; i < n; ++i) may += !(i < leaf.size() && leaf[i]);
  const std::size_t stripes = std::max<std::size_t>(1, std::min<std::size_t>(may, static_cast<std::size_t>(k)));
  const std::size_t share = may == 0 ? 1 : (stripes * n + may - 1) / may;
  REQUIRE(st.size() == n);
  REQUIRE(st.trees.size() == stripes);
  std::vector<std::size_t> uploads(n, 0);
  for (const Plan& t : st.trees) {
    REQUIRE(t.size() == n);
    REQUIRE(static_cast<std::size_t>(t.fanout) == share);
    check_shape(t, std::max<int>(t.fanout, static_cast<int>(t.source_children.size())));
    REQUIRE(t.source_children.size() == (may == 0 ? n : std::min<std::size_t>(n, 1)));
    // A tree short of forwarders (n % k >= 2, or leaf-only nodes) may be a
    // level deeper: its helpers have less room than a forwarder.
    const bool short_trees = may < n || n % static_cast<std::size_t>(k) >= 2;
    if (k == 1)
      REQUIRE(t.depth() <= static_cast<int>(n));
    else
      REQUIRE(t.depth() <= ceil_log(n, k) + (short_trees ? 2 : 1));
    if (k == 1 && may == n) REQUIRE(t.depth() == static_cast<int>(n));  // the chain
    for (std::size_t i = 0; i < n; ++i) uploads[i] += t.children[i].size();
  }
  if (may > 0) REQUIRE(st.source_copies() == Approx(n == 0 ? 0 : 1));
  for (std::size_t i = 0; i < n; ++i) {
    if (i < leaf.size() && leaf[i]) REQUIRE(uploads[i] == 0);
    REQUIRE(uploads[i] <= share);
    if (uploads[i] == 0)
      REQUIRE(st.interior[i] == -1);
    else
      REQUIRE(!st.trees[static_cast<std::size_t>(st.interior[i])].children[i].empty());
  }
}

}  // namespace

TEST_CASE("striped trees for 1..300 nodes and k 1..16: one copy from the source, at most one up from each node") {
  for (int k = 1; k <= 16; ++k) {
    for (std::size_t n = 1; n <= 300; ++n) {
      INFO("n=" << n << " k=" << k);
      const Stripes st = stripe_plan(n, k);
      check_stripes(st, n, k);
      // Most nodes forward somewhere: uploads are spread, not left to a few.
      const auto forwarders = std::count_if(st.interior.begin(), st.interior.end(), [](int s) { return s >= 0; });
      REQUIRE(static_cast<std::size_t>(forwarders) + 1 >= (n - 1) / static_cast<std::size_t>(k));
      // A node forwards in its own tree; the few with room to spare there
      // also in the trees n % k left a forwarder short, fewer nodes than trees.
      std::size_t helpers = 0;
      for (std::size_t i = 0; i < n; ++i) {
        int in = 0;
        for (const Plan& t : st.trees) in += !t.children[i].empty();
        helpers += in > 1;
      }
      if (n % static_cast<std::size_t>(k) < 2) REQUIRE(helpers == 0);
      REQUIRE(helpers < st.trees.size());
    }
  }
}

TEST_CASE("striped trees for 1..300 nodes and k 1..16 with leaf-only nodes: they forward nowhere, the rest carry them") {
  for (int k = 1; k <= 16; ++k) {
    for (std::size_t n = 1; n <= 300; ++n) {
      for (std::size_t every : {1u, 2u, 3u, 10u, 1000u}) {  // every `every`-th node is leaf-only
        INFO("n=" << n << " k=" << k << " every=" << every);
        std::vector<bool> leaf(n, false);
        std::size_t may = 0;
        for (std::size_t i = 0; i < n; ++i) {
          leaf[i] = i % every == every - 1;
          may += !leaf[i];
        }
        const Stripes st = stripe_plan(n, k, leaf);
        check_stripes(st, n, k, leaf);
        // Without leaf-only nodes, the same layout as stripe_plan(n, k).
        if (may == n) CHECK(st.interior == stripe_plan(n, k).interior);
      }
    }
  }
}

TEST_CASE("striped trees: small cases by hand") {
  // One node: one stripe, straight from the source.
  Stripes one = stripe_plan(1, 4);
  REQUIRE(one.trees.size() == 1);
  CHECK(one.trees[0].source_children == std::vector<int>{0});
  CHECK(one.interior == std::vector<int>{-1});
  // Fewer nodes than k: a stripe per node, each node forwards its stripe to the others.
  Stripes three = stripe_plan(3, 4);
  REQUIRE(three.trees.size() == 3);
  for (int s = 0; s < 3; ++s) {
    CHECK(three.trees[static_cast<std::size_t>(s)].source_children == std::vector<int>{s});
    CHECK(three.trees[static_cast<std::size_t>(s)].children[static_cast<std::size_t>(s)].size() == 2);
  }
  CHECK(three.source_copies() == 1);
  // k = 1: the chain 0 -> 1 -> 2 -> 3.
  Stripes chain = stripe_plan(4, 1);
  CHECK(chain.trees[0].source_children == std::vector<int>{0});
  for (std::size_t i = 0; i < 3; ++i) CHECK(chain.trees[0].children[i] == std::vector<int>{static_cast<int>(i) + 1});
  // 8 nodes, k = 4: tree s has forwarders s and s + 4; the source feeds s.
  Stripes eight = stripe_plan(8, 4);
  CHECK(eight.trees[1].source_children == std::vector<int>{1});
  CHECK(eight.trees[1].children[1] == std::vector<int>({5, 0, 2, 3}));
  CHECK(eight.trees[1].children[5] == std::vector<int>({4, 6, 7}));
  CHECK(eight.interior == std::vector<int>({0, 1, 2, 3, 0, 1, 2, 3}));
  CHECK(eight.source_copies() == 1);
  // 7 nodes, k = 4: tree 3 has one forwarder of its own (node 3, 4
  // children); node 4, which forwards 2 stripes of its 4 in tree 0, takes
  // the other 2 there. The source feeds one node per tree.
  Stripes seven = stripe_plan(7, 4);
  CHECK(seven.trees[3].source_children == std::vector<int>{3});
  CHECK(seven.trees[3].children[3] == std::vector<int>({4, 0, 1, 2}));
  CHECK(seven.trees[3].children[4] == std::vector<int>({5, 6}));
  CHECK(seven.trees[0].children[4] == std::vector<int>({5, 6}));
  CHECK(seven.interior == std::vector<int>({0, 1, 2, 3, 0, 1, 2}));
  CHECK(seven.source_copies() == 1);
  // Node 1 on a slow link, leaf-only: nodes 0, 2, 3, 4 root the trees.
  Stripes slow = stripe_plan(8, 4, {false, true, false, false, false, false, false, false});
  CHECK(slow.interior == std::vector<int>({0, -1, 1, 2, 3, 0, 1, 2}));
  CHECK(slow.trees[1].source_children == std::vector<int>{2});
}

TEST_CASE("striped trees are deterministic") {
  for (std::size_t n : {7, 64, 199}) {
    Stripes a = stripe_plan(n, 4), b = stripe_plan(n, 4);
    CHECK(a.interior == b.interior);
    for (std::size_t s = 0; s < a.trees.size(); ++s) {
      CHECK(a.trees[s].parent == b.trees[s].parent);
      CHECK(a.trees[s].children == b.trees[s].children);
      CHECK(a.trees[s].source_children == b.trees[s].source_children);
    }
  }
}

TEST_CASE("a failed node: re-parented within each stripe's tree, the invariants kept") {
  std::uint32_t seed = 777;
  auto rnd = [&seed](std::uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
  };
  for (int k : {1, 2, 3, 4, 8}) {
    for (std::size_t n : {2, 3, 5, 9, 17, 40, 101, 200}) {
      Stripes st = stripe_plan(n, k);
      // Bytes held per stripe: a parent is ahead of its children.
      std::vector<std::vector<std::uint64_t>> have(st.trees.size(), std::vector<std::uint64_t>(n));
      for (std::size_t s = 0; s < st.trees.size(); ++s)
        for (std::size_t i = 0; i < n; ++i) {
          int d = 0;
          for (int p = st.trees[s].parent[i]; p != kSource; p = st.trees[s].parent[static_cast<std::size_t>(p)]) ++d;
          have[s][i] = 1000 - 50 * static_cast<std::uint64_t>(d) - rnd(40);
        }
      std::vector<bool> alive(n, true);
      for (std::size_t failures = 0; failures < std::min<std::size_t>(n - 1, 10); ++failures) {
        int failed;
        do failed = static_cast<int>(rnd(static_cast<std::uint32_t>(n)));
        while (!alive[static_cast<std::size_t>(failed)]);
        INFO("k=" << k << " n=" << n << " failed=" << failed);
        alive[static_cast<std::size_t>(failed)] = false;
        const int forwarded_in = st.interior[static_cast<std::size_t>(failed)];
        std::vector<std::vector<int>> orphans;
        for (const Plan& t : st.trees) orphans.push_back(t.children[static_cast<std::size_t>(failed)]);
        const auto parents = reparent_stripes(st, failed, have, alive);
        REQUIRE(parents.size() == st.trees.size());
        // The first failure: orphans in the tree it forwarded in, and in one
        // more at most, where it took the rest of a tree short of forwarders
        // (later, a node may have taken orphans in more trees).
        if (failures == 0) {
          const auto trees_orphaned = std::count_if(orphans.begin(), orphans.end(), [](const std::vector<int>& o) { return !o.empty(); });
          REQUIRE(trees_orphaned <= 2);
          if (trees_orphaned > 0) REQUIRE(!orphans[static_cast<std::size_t>(forwarded_in)].empty());
        }
        for (std::size_t s = 0; s < st.trees.size(); ++s) {
          const Plan& t = st.trees[s];
          INFO("tree " << s);
          REQUIRE(t.parent[static_cast<std::size_t>(failed)] == kDetached);
          check_live(t, alive);
          REQUIRE(t.depth() <= static_cast<int>(n));  // orphans may sink: still a tree
          // The orphans went to a node ahead of them with room, or to the source.
          REQUIRE(parents[s].size() == orphans[s].size());
          for (std::size_t i = 0; i < orphans[s].size(); ++i) {
            const int p = parents[s][i];
            REQUIRE(t.parent[static_cast<std::size_t>(orphans[s][i])] == p);
            if (p == kSource) continue;
            REQUIRE(alive[static_cast<std::size_t>(p)]);
            REQUIRE(have[s][static_cast<std::size_t>(p)] >= have[s][static_cast<std::size_t>(orphans[s][i])]);
            REQUIRE(t.children[static_cast<std::size_t>(p)].size() <= static_cast<std::size_t>(k));
          }
        }
        // Still: no live node uploads more than a copy.
        for (std::size_t i = 0; i < n; ++i) {
          if (!alive[i]) continue;
          std::size_t stripes_up = 0;
          for (const Plan& t : st.trees) stripes_up += t.children[i].size();
          REQUIRE(stripes_up <= st.trees.size());
        }
      }
    }
  }
}

TEST_CASE("a failed forwarder's children go to forwarders of its tree, then to nodes with upload to spare") {
  // 8 nodes, k = 4, tree 1: source -> 1 -> {5, 0, 2, 3}, 5 -> {4, 6, 7};
  // tree 0: 0 -> {4, 1, 2, 3}, 4 -> {5, 6, 7}.
  Stripes st = stripe_plan(8, 4);
  std::vector<bool> alive(8, true);
  alive[5] = false;
  // Every node equally far along. Node 1, the forwarder above, has the slot
  // node 5 left: node 4 takes it. Node 4 then uploads 2 stripes in tree 0
  // (node 5 was one of its 3): it takes 6 and 7 in tree 1, and uploads one
  // copy again. The source sends no more than before.
  std::vector<std::vector<std::uint64_t>> have(4, std::vector<std::uint64_t>(8, 100));
  const auto parents = reparent_stripes(st, 5, have, alive);
  CHECK(parents[1] == std::vector<int>({1, 4, 4}));
  for (std::size_t s : {0u, 2u, 3u}) CHECK(parents[s].empty());
  CHECK(st.trees[1].children[1] == std::vector<int>({0, 2, 3, 4}));
  CHECK(st.trees[1].children[4] == std::vector<int>({6, 7}));
  CHECK(st.trees[0].children[4] == std::vector<int>({6, 7}));
  CHECK(st.source_copies() == 1);
  // Tree 0 of 4 nodes: source -> 0 -> {1, 2, 3}. Nobody is above the
  // orphans: node 1 goes to the source; node 2 then under node 1 (which
  // uploaded 3 stripes of 4), node 3 under node 2 (node 1 is full; node 2,
  // at node 3's old depth, lets it sink one level).
  Stripes small = stripe_plan(4, 4);
  alive.assign(4, true);
  alive[0] = false;
  have.assign(4, std::vector<std::uint64_t>(4, 100));
  CHECK(reparent_stripes(small, 0, have, alive)[0] == std::vector<int>({kSource, 1, 2}));
}
