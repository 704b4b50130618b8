// What every plan must be, checked the same way for trees, flat plans and
// striped trees (topology_test.cpp, stripes_test.cpp).
#pragma once

#include <catch2/catch.hpp>

#include <vector>

#include "topology/plan.h"

// Every node has exactly one parent, the children lists agree with the
// parents, no sender exceeds the fan-out, and every node reaches the source.
inline void check_shape(const topology::Plan& plan, int fanout) {
  using topology::kSource;
  const std::size_t n = plan.size();
  REQUIRE(plan.children.size() == n);
  std::vector<int> seen(n, 0);
  REQUIRE(plan.source_children.size() <= static_cast<std::size_t>(fanout));
  for (int c : plan.source_children) {
    REQUIRE(plan.parent[static_cast<std::size_t>(c)] == kSource);
    ++seen[static_cast<std::size_t>(c)];
  }
  for (std::size_t p = 0; p < n; ++p) {
    REQUIRE(plan.children[p].size() <= static_cast<std::size_t>(fanout));
    for (int c : plan.children[p]) {
      REQUIRE(plan.parent[static_cast<std::size_t>(c)] == static_cast<int>(p));
      ++seen[static_cast<std::size_t>(c)];
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(seen[i] == 1);
    std::size_t hops = 0;
    for (int p = plan.parent[i]; p != kSource; p = plan.parent[static_cast<std::size_t>(p)]) REQUIRE(++hops <= n);
  }
}

// After failures: every live node is reachable from the source exactly
// once, and no failed node is.
inline void check_live(const topology::Plan& plan, const std::vector<bool>& alive) {
  std::vector<int> seen(plan.size(), 0);
  std::vector<int> stack(plan.source_children.begin(), plan.source_children.end());
  while (!stack.empty()) {
    int at = stack.back();
    stack.pop_back();
    REQUIRE(alive[static_cast<std::size_t>(at)]);
    REQUIRE(++seen[static_cast<std::size_t>(at)] == 1);
    for (int c : plan.children[static_cast<std::size_t>(at)]) stack.push_back(c);
  }
  for (std::size_t i = 0; i < plan.size(); ++i) REQUIRE(seen[i] == (alive[i] ? 1 : 0));
}
