// The distribution plan: who sends the archive to whom. Pure code, no I/O,
// so every property is tested exhaustively (tests/topology_test.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace topology {

constexpr int kSource = -1;
constexpr int kDetached = -2;  // a failed node, no longer in the tree

// flat: the source sends to each node itself; tree: one K-ary tree;
// stripes: K striped trees (stripes.h)
enum class Mode { Flat, Tree, Stripes };
const char* mode_name(Mode mode);

struct Node {
  std::string name;
  std::string zone;  // nodes of one zone are kept in one subtree where possible
};

// A tree: the source at the root, nodes by index.
struct Plan {
  int fanout = 0;                          // most children of any sender
  std::vector<int> parent;                 // per node: the index it receives from, or kSource
  std::vector<std::vector<int>> children;  // per node: indexes it forwards to
  std::vector<int> source_children;        // nodes the source sends to itself

  std::size_t size() const { return parent.size(); }
  int depth() const;  // hops from the source to the deepest node (0 if empty)
};

// A tree in which the source and every node have at most `fanout` children,
// balanced, deterministic, with each zone's nodes in as few subtrees as the
// order allows. Nodes are ordered by zone (stable), then each subtree takes a
// contiguous run of that order.
Plan tree_plan(const std::vector<Node>& nodes, int fanout);

// Flat mode as a plan: every node is a child of the source, which feeds at
// most `workers` of them at once (a limit of the delivery, not of the plan).
Plan flat_plan(std::size_t node_count);

// Moves `node` (with its subtree) to be fed by the source: what the source
// does with a node whose parent sent it bytes that failed their digest.
void move_to_source(Plan& plan, int node);

// Takes `failed` out of the tree and gives each of its children a new parent:
// a live node outside the child's subtree that holds at least as many bytes
// as the child (so the child resumes at once), has room under the fan-out,
// and sits above the child's old depth (so no subtree gets deeper); among
// those the one holding the most bytes, then the shallowest. Failing that,
// the source, which holds everything. `have[i]` is what node i holds, `alive[i]`
// whether it can still send; `can_send(p, c)`, if given, whether p's stream
// carries everything c's does (streams differ by the layers subtrees lack).
// `deeper` lets a child's subtree sink that many levels (striped trees,
// whose nodes with room mostly sit at the bottom, allow any).
// Returns the new parent of each child, in order.
std::vector<int> reparent(Plan& plan, int failed, const std::vector<std::uint64_t>& have,
                          const std::vector<bool>& alive, const std::function<bool(int, int)>& can_send = nullptr,
                          int deeper = 0);

}  // namespace topology
