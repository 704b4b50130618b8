// Striped trees (SplitStream, Castro et al., SOSP 2003): the stream is cut
// into k stripes (chunk c belongs to stripe c mod k) and each stripe goes
// down its own tree. Every node forwards in one tree and is a leaf in the
// others (but for a few, fewer than k, that also forward the rest of trees
// node_count % k leaves short of forwarders), so every node uploads at most
// one copy in total, the source one copy, and a failed node interrupts one
// stripe for one subtree (a helper's: a few children in a few stripes).
// Pure code, no I/O (tests/stripes_test.cpp); the rollout's striped mode
// and bench/sim follow it.
#pragma once

#include <cstdint>
#include <vector>

#include "topology/plan.h"

namespace topology {

struct Stripes {
  std::vector<Plan> trees;    // tree s carries the chunks c with c % trees.size() == s
  // per node: the tree it forwards in by its turn (else the one it helps out
  // in), or -1 (a leaf in every tree)
  std::vector<int> interior;
  std::vector<bool> leaf_only;  // per node: never forwards (stripe_plan's argument; empty: none)

  std::size_t size() const { return interior.size(); }
  // Copies of the stream the source uploads: each child in a tree costs one
  // stripe, 1/trees.size() of a copy.
  double source_copies() const;
};

// k striped trees over node_count nodes, deterministic. The nodes that may
// forward (all, unless `leaf_only[i]` says node i should not: a slow uplink
// would hold its children's stripe to its share) take turns: the j-th of
// them forwards in tree j % k. Fewer such nodes than k get one stripe each
// (a stripe with no node to forward it would cost the source a copy per
// node). Every node may upload as many stripes as there are (k, or fewer
// with fewer forwarders): one copy; with m < node_count nodes that may
// forward, ceil(stripes * node_count / m): they carry the leaf-only nodes'
// share. In tree s the source feeds one node; the tree's forwarders take the
// others in turn, and where they lack room (node_count % k leaves some trees
// one forwarder short) the nodes with upload to spare in their own tree
// take the rest, most room first: the source sends one copy for any count
// (were it to feed the rest itself, it would send up to 2.5 copies: 1.5 for
// 7 nodes in 4 stripes). Each tree is filled breadth first, its forwarders
// above the leaves. Depth: at most ceil(log_k(node_count)) + 1, one more in
// a short tree (its helpers have less room than a forwarder: a level costs a
// chunk's time, a second child of the source a stripe of its uplink). k = 1
// is the chain. With no node that may forward, the source feeds every node.
Stripes stripe_plan(std::size_t node_count, int k, const std::vector<bool>& leaf_only = {});

// Takes `failed` out of every tree. In the tree where it forwarded, each
// child gets a new parent by topology::reparent (ahead of it, room under the
// fan-out, at any depth: a level costs a chunk's time) among the nodes,
// not leaf-only, that upload less than their share (the fan-out) in all:
// that tree's forwarders with room, nodes that forward nowhere yet, and the
// nodes the failed node was a leaf below in the other trees (the slot it
// left there serves here; without them the source would take up to k - 1
// subtrees per failure). Else the source. So after failures a node may
// forward in a second tree, never more than its share in all.
// have[s][i]: bytes of stripe s node i holds; alive[i]: whether it can
// still send. Returns, per tree, the new parent of each orphaned child.
std::vector<std::vector<int>> reparent_stripes(Stripes& stripes, int failed,
                                               const std::vector<std::vector<std::uint64_t>>& have,
                                               const std::vector<bool>& alive);

}  // namespace topology
