#include "bench/sim/layout.h"

#include <stdexcept>

namespace sim {

Shape parse_shape(const std::string& name) {
  if (name == "flat") return Shape::Flat;
  if (name == "tree") return Shape::Tree;
  if (name == "chain") return Shape::Chain;
  if (name == "stripes") return Shape::Stripes;
  throw std::invalid_argument("unknown mode '" + name + "': use flat, tree, chain or stripes");
}

Layout::Layout(Shape shape, std::size_t n, int fanout, const std::vector<bool>& leaf_only) : shape_(shape) {
  if (shape == Shape::Stripes) {
    plan_ = topology::stripe_plan(n, fanout, leaf_only);
    return;
  }
  if (shape == Shape::Flat) {
    plan_.trees.push_back(topology::flat_plan(n));
  } else {
    std::vector<topology::Node> nodes(n);
    plan_.trees.push_back(topology::tree_plan(nodes, shape == Shape::Chain ? 1 : fanout));
  }
}

void Layout::reparent(int failed, const std::vector<std::vector<std::uint64_t>>& have, const std::vector<bool>& alive) {
  if (shape_ == Shape::Stripes)
    topology::reparent_stripes(plan_, failed, have, alive);
  else
    topology::reparent(plan_.trees[0], failed, have[0], alive);
}

std::vector<std::uint64_t> stripe_bytes(std::uint64_t total, std::uint64_t chunk, std::size_t k) {
  std::vector<std::uint64_t> bytes(k, 0);
  const std::uint64_t chunks = (total + chunk - 1) / chunk;
  for (std::size_t s = 0; s < k; ++s) {
    // Whole chunks s, s + k, ... below the last one, then the last one's share.
    const std::uint64_t whole = chunks == 0 ? 0 : (chunks - 1) / k + ((chunks - 1) % k > s ? 1 : 0);
    bytes[s] = whole * chunk;
  }
  if (chunks > 0) bytes[(chunks - 1) % k] += total - (chunks - 1) * chunk;
  return bytes;
}

}  // namespace sim
