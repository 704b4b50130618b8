// The distribution plan: who sends the archive to whom. Pure code, no I/O,
// so every property is tested exhaustively (tests/topology_test.cpp).
#pragma once

#include <string>
#include <vector>

namespace topology {

constexpr int kSource = -1;

enum class Mode { Flat, Tree };

struct Node {
  std::string name;
  std::string zone;  // nodes of one zone are kept in one subtree where possible
};

struct Plan {
  Mode mode = Mode::Flat;
  int fanout = 0;                          // tree: most children of any sender
  std::vector<int> parent;                 // per node: the index it receives from, or kSource
  std::vector<std::vector<int>> children;  // per node: indexes it forwards to
  std::vector<int> source_children;        // nodes the source sends to itself

  std::size_t size() const { return parent.size(); }
  int depth() const;  // hops from the source to the deepest node (0 if empty)
};

// Flat: the source sends to every node itself.
Plan flat_plan(std::size_t node_count);

// A tree in which the source and every node have at most `fanout` children,
// balanced, deterministic, with each zone's nodes in as few subtrees as the
// order allows. Nodes are ordered by zone (stable), then each subtree takes a
// contiguous run of that order.
Plan tree_plan(const std::vector<Node>& nodes, int fanout);

// Auto mode: flat when there are no more nodes than one tree level holds.
Mode choose_mode(std::size_t node_count, int fanout);

}  // namespace topology
