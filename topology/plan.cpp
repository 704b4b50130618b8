#include "topology/plan.h"

#include <algorithm>
#include <numeric>

namespace topology {
namespace {

// Gives order[begin, end) to `parent` as up to `fanout` subtrees of nearly
// equal size; each subtree's first node is its root.
void build(Plan& plan, const std::vector<int>& order, std::size_t begin, std::size_t end, int parent) {
  std::size_t n = end - begin;
  if (n == 0) return;
  std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(plan.fanout), n);
  std::size_t base = n / k, extra = n % k, at = begin;
  for (std::size_t i = 0; i < k; ++i) {
    std::size_t len = base + (i < extra ? 1 : 0);
    int root = order[at];
    plan.parent[static_cast<std::size_t>(root)] = parent;
    if (parent == kSource)
      plan.source_children.push_back(root);
    else
      plan.children[static_cast<std::size_t>(parent)].push_back(root);
    build(plan, order, at + 1, at + len, root);
    at += len;
  }
}

}  // namespace

int Plan::depth() const {
  int deepest = 0;
  for (std::size_t i = 0; i < parent.size(); ++i) {
    int d = 1;
    for (int p = parent[i]; p != kSource; p = parent[static_cast<std::size_t>(p)]) ++d;
    deepest = std::max(deepest, d);
  }
  return deepest;
}

Plan flat_plan(std::size_t node_count) {
  Plan plan;
  plan.mode = Mode::Flat;
  plan.fanout = static_cast<int>(node_count);
  plan.parent.assign(node_count, kSource);
  plan.children.assign(node_count, {});
  plan.source_children.resize(node_count);
  std::iota(plan.source_children.begin(), plan.source_children.end(), 0);
  return plan;
}

Plan tree_plan(const std::vector<Node>& nodes, int fanout) {
  Plan plan;
  plan.mode = Mode::Tree;
  plan.fanout = std::max(fanout, 1);
  plan.parent.assign(nodes.size(), kSource);
  plan.children.assign(nodes.size(), {});
  std::vector<int> order(nodes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return nodes[static_cast<std::size_t>(a)].zone < nodes[static_cast<std::size_t>(b)].zone;
  });
  build(plan, order, 0, order.size(), kSource);
  return plan;
}

Mode choose_mode(std::size_t node_count, int fanout) {
  return node_count <= static_cast<std::size_t>(std::max(fanout, 1)) ? Mode::Flat : Mode::Tree;
}

}  // namespace topology
