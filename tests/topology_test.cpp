#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "topology/plan.h"
#include "plan_shape.h"

using namespace topology;

namespace {

std::vector<Node> make_nodes(std::size_t n, std::size_t zones = 0) {
  std::vector<Node> nodes;
  for (std::size_t i = 0; i < n; ++i)
    nodes.push_back({"n" + std::to_string(i), zones ? "z" + std::to_string(i % zones) : ""});
  return nodes;
}

// The smallest depth at which a K-ary tree under the source holds n nodes.
int optimal_depth(std::size_t n, int k) {
  int depth = 0;
  std::size_t capacity = 0, level = 1;
  while (capacity < n) {
    level *= static_cast<std::size_t>(k);
    capacity += level;
    ++depth;
  }
  return depth;
}

}  // namespace

TEST_CASE("trees for 0..500 nodes: each node once, fan-out bound, optimal depth") {
  for (int k : {1, 2, 3, 4, 8, 16}) {
    const std::size_t max_n = k == 1 ? 120 : 500;  // a pipeline's depth is n: keep it cheap
    for (std::size_t n = 0; n <= max_n; ++n) {
      INFO("n=" << n << " k=" << k);
      Plan p = tree_plan(make_nodes(n), k);
      check_shape(p, k);
      REQUIRE(p.depth() == optimal_depth(n, k));
    }
  }
}

TEST_CASE("a fan-out of 1 is a pipeline") {
  Plan p = tree_plan(make_nodes(6), 1);
  CHECK(p.source_children == std::vector<int>{0});
  for (int i = 0; i < 5; ++i) CHECK(p.children[static_cast<std::size_t>(i)] == std::vector<int>{i + 1});
  CHECK(p.depth() == 6);
}

TEST_CASE("plans are deterministic") {
  for (std::size_t n : {7, 64, 333}) {
    Plan a = tree_plan(make_nodes(n, 3), 4), b = tree_plan(make_nodes(n, 3), 4);
    CHECK(a.parent == b.parent);
    CHECK(a.children == b.children);
    CHECK(a.source_children == b.source_children);
  }
}

TEST_CASE("nodes of one zone share a subtree even when the inventory interleaves zones") {
  // 4 zones x 25 nodes, listed round-robin; fan-out 4: each of the source's
  // subtrees should hold exactly one zone.
  std::vector<Node> nodes = make_nodes(100, 4);
  Plan p = tree_plan(nodes, 4);
  check_shape(p, 4);
  REQUIRE(p.source_children.size() == 4);
  for (int root : p.source_children) {
    std::set<std::string> zones;
    std::vector<int> stack = {root};
    while (!stack.empty()) {
      int at = stack.back();
      stack.pop_back();
      zones.insert(nodes[static_cast<std::size_t>(at)].zone);
      for (int c : p.children[static_cast<std::size_t>(at)]) stack.push_back(c);
    }
    CHECK(zones.size() == 1);
  }
}

TEST_CASE("cross-zone links stay few for uneven zones") {
  for (std::size_t zones : {2, 3, 5, 7}) {
    for (std::size_t n : {10, 50, 200}) {
      std::vector<Node> nodes = make_nodes(n, zones);
      Plan p = tree_plan(nodes, 3);
      check_shape(p, 3);
      std::size_t cross = 0;
      for (std::size_t c = 0; c < n; ++c) {
        int parent = p.parent[c];
        if (parent != kSource && nodes[static_cast<std::size_t>(parent)].zone != nodes[c].zone) ++cross;
      }
      // Each boundary between zones in the sorted order is crossed by at most
      // fan-out links per tree level.
      INFO("zones=" << zones << " n=" << n << " cross=" << cross);
      CHECK(cross <= (zones - 1) * 3 * static_cast<std::size_t>(p.depth()));
    }
  }
}

TEST_CASE("re-parenting after failures keeps every live node once, the fan-out and the depth") {
  std::uint32_t seed = 12345;
  auto rnd = [&seed](std::uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
  };
  for (int k : {1, 2, 3, 4}) {
    for (std::size_t n : {2, 3, 5, 9, 17, 40, 101, 250}) {
      Plan plan = tree_plan(make_nodes(n), k);
      const int depth = plan.depth();
      // Bytes held: a parent is always at least as far along as its child.
      std::vector<std::uint64_t> have(n);
      for (std::size_t i = 0; i < n; ++i) {
        int d = 0;
        for (int p = plan.parent[i]; p != kSource; p = plan.parent[static_cast<std::size_t>(p)]) ++d;
        have[i] = 1000 - 50 * static_cast<std::uint64_t>(d) - rnd(40);
      }
      std::vector<bool> alive(n, true);
      for (std::size_t failures = 0; failures < std::min<std::size_t>(n - 1, 12); ++failures) {
        int failed;
        do failed = static_cast<int>(rnd(static_cast<std::uint32_t>(n)));
        while (!alive[static_cast<std::size_t>(failed)]);
        std::vector<int> orphans = plan.children[static_cast<std::size_t>(failed)];
        std::size_t source_before = plan.source_children.size();
        alive[static_cast<std::size_t>(failed)] = false;
        std::vector<int> parents = reparent(plan, failed, have, alive);
        INFO("k=" << k << " n=" << n << " failed=" << failed);
        REQUIRE(parents.size() == orphans.size());
        REQUIRE(plan.parent[static_cast<std::size_t>(failed)] == kDetached);
        REQUIRE(plan.children[static_cast<std::size_t>(failed)].empty());
        for (std::size_t i = 0; i < orphans.size(); ++i) {
          int c = orphans[i], p = parents[i];
          REQUIRE(plan.parent[static_cast<std::size_t>(c)] == p);
          if (p != kSource) {
            REQUIRE(alive[static_cast<std::size_t>(p)]);
            REQUIRE(have[static_cast<std::size_t>(p)] >= have[static_cast<std::size_t>(c)]);
            REQUIRE(plan.children[static_cast<std::size_t>(p)].size() <= static_cast<std::size_t>(k));
          }
        }
        // The source takes on at most the orphans it was given plus what it had.
        REQUIRE(plan.source_children.size() <= source_before + orphans.size());
        // Every live node is reachable exactly once; no subtree got deeper.
        check_live(plan, alive);
        REQUIRE(plan.depth() <= depth);
        for (std::size_t i = 0; i < n; ++i)
          if (alive[i]) REQUIRE(plan.children[i].size() <= static_cast<std::size_t>(k));
      }
    }
  }
}

TEST_CASE("an orphan goes to the live node furthest ahead, else to the source") {
  // source -> 0 -> {1, 2}; source -> 3 -> {4, 5}; fan-out 2.
  Plan plan = tree_plan(make_nodes(6), 2);
  REQUIRE(plan.children[0] == std::vector<int>{1, 2});
  std::vector<bool> alive(6, true);
  alive[0] = false;
  // Node 3 is above the orphans but has no room, so node 1 goes to the
  // source; node 1 is then above node 2, ahead of it and has room.
  std::vector<std::uint64_t> have = {50, 40, 30, 100, 90, 80};
  CHECK(reparent(plan, 0, have, alive) == std::vector<int>{kSource, 1});

  Plan wide = tree_plan(make_nodes(6), 3);  // source -> 0 -> {1}, 2 -> {3}, 4 -> {5}
  REQUIRE(wide.children[0] == std::vector<int>{1});
  alive.assign(6, true);
  alive[0] = false;
  have = {50, 40, 70, 60, 90, 80};
  CHECK(reparent(wide, 0, have, alive) == std::vector<int>{4});  // the furthest ahead with room
  alive[4] = false;
  have[5] = 95;  // nobody holds as much as node 5: the source takes it, then node 1 goes under it
  CHECK(wide.children[4] == std::vector<int>{5, 1});
  CHECK(reparent(wide, 4, have, alive) == std::vector<int>{kSource, 5});
}

TEST_CASE("an orphan never goes to a node whose stream lacks parts of its own") {
  Plan wide = tree_plan(make_nodes(6), 3);  // source -> 0 -> {1}, 2 -> {3}, 4 -> {5}
  std::vector<bool> alive(6, true);
  alive[0] = false;
  std::vector<std::uint64_t> have = {50, 40, 70, 60, 90, 80};
  // Node 4 is furthest ahead, but its stream does not carry node 1's: node 2's does.
  auto can_send = [](int p, int c) { return !(p == 4 && c == 1); };
  CHECK(reparent(wide, 0, have, alive, can_send) == std::vector<int>{2});
  Plan again = tree_plan(make_nodes(6), 3);
  auto nobody = [](int, int) { return false; };
  CHECK(reparent(again, 0, have, alive, nobody) == std::vector<int>{kSource});  // the source carries everything
}

TEST_CASE("flat plans: every node a child of the source, nobody forwards") {
  for (std::size_t n = 0; n <= 70; ++n) {
    INFO("n=" << n);
    Plan p = flat_plan(n);
    REQUIRE(p.size() == n);
    CHECK(p.fanout == static_cast<int>(std::max<std::size_t>(n, 1)));
    check_shape(p, p.fanout);
    std::vector<int> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = static_cast<int>(i);
    CHECK(p.source_children == all);
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(p.parent[i] == kSource);
      CHECK(p.children[i].empty());
    }
    CHECK(p.depth() == (n == 0 ? 0 : 1));
  }
}

namespace {

// The nodes of `root`'s subtree, root first, depth-first.
std::vector<int> subtree(const Plan& plan, int root) {
  std::vector<int> out, stack = {root};
  while (!stack.empty()) {
    int at = stack.back();
    stack.pop_back();
    out.push_back(at);
    const auto& kids = plan.children[static_cast<std::size_t>(at)];
    stack.insert(stack.end(), kids.rbegin(), kids.rend());
  }
  return out;
}

void check_same(const Plan& a, const Plan& b) {
  CHECK(a.fanout == b.fanout);
  CHECK(a.parent == b.parent);
  CHECK(a.children == b.children);
  CHECK(a.source_children == b.source_children);
}

}  // namespace

TEST_CASE("move_to_source: the node and its subtree hang from the source, nothing else moves") {
  // 40 nodes, fan-out 3: depth 4, so there are interior nodes at depths 2 and 3.
  const Plan before = tree_plan(make_nodes(40), 3);
  for (std::size_t i = 0; i < before.size(); ++i) {
    const int node = static_cast<int>(i);
    const int old_parent = before.parent[i];
    if (old_parent == kSource) continue;
    INFO("node " << node << ", parent " << old_parent);
    Plan p = before;
    move_to_source(p, node);
    CHECK(p.parent[i] == kSource);
    CHECK(p.source_children.back() == node);
    std::vector<int> sources = before.source_children;
    sources.push_back(node);
    CHECK(p.source_children == sources);
    // It left its old parent's children, whose others stay in order.
    std::vector<int> siblings = before.children[static_cast<std::size_t>(old_parent)];
    siblings.erase(std::find(siblings.begin(), siblings.end(), node));
    CHECK(p.children[static_cast<std::size_t>(old_parent)] == siblings);
    // Its subtree comes along unchanged; every other node keeps its parent
    // and children.
    CHECK(subtree(p, node) == subtree(before, node));
    for (std::size_t j = 0; j < before.size(); ++j) {
      if (j == i) continue;
      CHECK(p.parent[j] == before.parent[j]);
      if (static_cast<int>(j) != old_parent) CHECK(p.children[j] == before.children[j]);
    }
    // Still a tree: everyone once, the source has one more child than the fan-out allows.
    check_shape(p, p.fanout + 1);
    CHECK(p.depth() <= before.depth());
  }
}

TEST_CASE("move_to_source leaves a source child or a detached node where it is") {
  Plan p = tree_plan(make_nodes(13), 3);
  const Plan before = p;
  for (int c : before.source_children) {
    move_to_source(p, c);
    check_same(p, before);
  }
  // Node 1 fails: it is detached, its children are re-parented.
  std::vector<std::uint64_t> have(13, 100);
  std::vector<bool> alive(13, true);
  alive[1] = false;
  reparent(p, 1, have, alive);
  REQUIRE(p.parent[1] == kDetached);
  const Plan detached = p;
  move_to_source(p, 1);
  check_same(p, detached);
  CHECK(std::find(p.source_children.begin(), p.source_children.end(), 1) == p.source_children.end());
}

TEST_CASE("re-parenting may let a subtree sink when asked: a node with room below beats the source") {
  // source -> 0 -> {1, 2}; source -> 3 -> {4, 5}; fan-out 2; node 0 fails.
  std::vector<std::uint64_t> have(6, 100);
  std::vector<bool> alive(6, true);
  alive[0] = false;
  Plan level = tree_plan(make_nodes(6), 2);
  CHECK(reparent(level, 0, have, alive) == std::vector<int>{kSource, 1});  // node 3 is full
  Plan sink = tree_plan(make_nodes(6), 2);
  CHECK(reparent(sink, 0, have, alive, nullptr, 1) == std::vector<int>{4, 4});  // one level deeper, under node 4
  CHECK(sink.depth() == 3);
}
