#include "topology/plan.h"

#include <algorithm>
#include <numeric>

namespace topology {

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::Flat: return "flat";
    case Mode::Tree: return "tree";
    case Mode::Stripes: return "stripes";
  }
  return "";
}
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

int node_depth(const Plan& plan, int node) {
  int d = 1;
  for (int p = plan.parent[static_cast<std::size_t>(node)]; p >= 0; p = plan.parent[static_cast<std::size_t>(p)]) ++d;
  return d;
}

// Still connected to the source (not under a failed or orphaned node).
bool attached(const Plan& plan, int node) {
  int p = node;
  while (p >= 0) p = plan.parent[static_cast<std::size_t>(p)];
  return p == kSource;
}

bool in_subtree(const Plan& plan, int node, int root) {
  for (int p = node; p >= 0; p = plan.parent[static_cast<std::size_t>(p)])
    if (p == root) return true;
  return false;
}

void detach(Plan& plan, int node) {
  int p = plan.parent[static_cast<std::size_t>(node)];
  auto& siblings = p == kSource ? plan.source_children : plan.children[static_cast<std::size_t>(p)];
  siblings.erase(std::remove(siblings.begin(), siblings.end(), node), siblings.end());
}

}  // namespace

int Plan::depth() const {
  int deepest = 0;
  for (std::size_t i = 0; i < parent.size(); ++i)
    if (parent[i] != kDetached) deepest = std::max(deepest, node_depth(*this, static_cast<int>(i)));
  return deepest;
}

Plan tree_plan(const std::vector<Node>& nodes, int fanout) {
  Plan plan;
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

Plan flat_plan(std::size_t node_count) {
  Plan plan;
  plan.fanout = static_cast<int>(std::max<std::size_t>(node_count, 1));
  plan.parent.assign(node_count, kSource);
  plan.children.assign(node_count, {});
  plan.source_children.resize(node_count);
  std::iota(plan.source_children.begin(), plan.source_children.end(), 0);
  return plan;
}

void move_to_source(Plan& plan, int node) {
  const auto n = static_cast<std::size_t>(node);
  if (plan.parent[n] == kSource || plan.parent[n] == kDetached) return;
  detach(plan, node);
  plan.parent[n] = kSource;
  plan.source_children.push_back(node);
}

std::vector<int> reparent(Plan& plan, int failed, const std::vector<std::uint64_t>& have,
                          const std::vector<bool>& alive, const std::function<bool(int, int)>& can_send,
                          int deeper) {
  const auto f = static_cast<std::size_t>(failed);
  if (plan.parent[f] == kDetached) return {};
  const int old_depth = node_depth(plan, failed) + 1 + deeper;  // the orphans' depth, plus what they may sink
  detach(plan, failed);
  plan.parent[f] = kDetached;
  std::vector<int> orphans;
  orphans.swap(plan.children[f]);

  std::vector<int> chosen;
  for (int c : orphans) {
    const auto ci = static_cast<std::size_t>(c);
    plan.parent[ci] = kDetached;  // while choosing, c's subtree is unreachable
    int best = kSource;
    for (std::size_t p = 0; p < plan.size(); ++p) {
      const int pi = static_cast<int>(p);
      if (!alive[p] || !attached(plan, pi) || in_subtree(plan, pi, c)) continue;
      if (plan.children[p].size() >= static_cast<std::size_t>(plan.fanout) || have[p] < have[ci]) continue;
      if (node_depth(plan, pi) >= old_depth || (can_send && !can_send(pi, c))) continue;
      if (best == kSource || have[p] > have[static_cast<std::size_t>(best)] ||
          (have[p] == have[static_cast<std::size_t>(best)] && node_depth(plan, pi) < node_depth(plan, best)))
        best = pi;
    }
    plan.parent[ci] = best;
    (best == kSource ? plan.source_children : plan.children[static_cast<std::size_t>(best)]).push_back(c);
    chosen.push_back(best);
  }
  return chosen;
}

}  // namespace topology
