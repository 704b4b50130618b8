// The plan a simulated run follows, made by the real topology/ code, and
// its re-parenting after a failure by the real topology reparent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "topology/stripes.h"

namespace sim {

enum class Shape { Flat, Tree, Chain, Stripes };

// "flat", "tree", "chain" or "stripes"; throws std::invalid_argument otherwise.
Shape parse_shape(const std::string& name);

class Layout {
 public:
  // flat: topology::flat_plan; tree: topology::tree_plan(fanout) (today's
  // --fanout); chain: tree_plan(1); stripes: topology::stripe_plan(fanout),
  // with the nodes `leaf_only` names forwarding nowhere.
  Layout(Shape shape, std::size_t n, int fanout, const std::vector<bool>& leaf_only = {});

  // Tree s carries stripe s; flat, tree and chain are one stripe.
  const std::vector<topology::Plan>& trees() const { return plan_.trees; }

  // `failed` is gone: its children get new parents as the source would give
  // them (stripes: within each stripe's tree). have[s][i]: bytes of stripe s
  // node i holds.
  void reparent(int failed, const std::vector<std::vector<std::uint64_t>>& have, const std::vector<bool>& alive);

 private:
  Shape shape_;
  topology::Stripes plan_;  // for flat, tree and chain: one tree, `interior` unused
};

// The bytes of each of k stripes of a `total`-byte stream cut into chunks:
// chunk c belongs to stripe c % k.
std::vector<std::uint64_t> stripe_bytes(std::uint64_t total, std::uint64_t chunk, std::size_t k);

}  // namespace sim
