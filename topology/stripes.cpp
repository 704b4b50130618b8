#include "topology/stripes.h"

#include <algorithm>

namespace topology {

double Stripes::source_copies() const {
  std::size_t children = 0;
  for (const Plan& t : trees) children += t.source_children.size();
  return trees.empty() ? 0 : static_cast<double>(children) / static_cast<double>(trees.size());
}

Stripes stripe_plan(std::size_t node_count, int k, const std::vector<bool>& leaf_only) {
  const std::size_t n = node_count;
  std::vector<int> may_forward;
  for (std::size_t i = 0; i < n; ++i)
    if (i >= leaf_only.size() || !leaf_only[i]) may_forward.push_back(static_cast<int>(i));
  const std::size_t trees =
      std::max<std::size_t>(1, std::min(static_cast<std::size_t>(std::max(k, 1)), may_forward.size()));
  // As many children as stripes: a forwarder uploads one copy. Leaf-only
  // nodes upload nothing, so the others carry their share: n/m times as much.
  const std::size_t fanout = may_forward.empty() ? 1 : (trees * n + may_forward.size() - 1) / may_forward.size();
  Stripes st;
  st.interior.assign(n, -1);
  st.leaf_only = leaf_only;
  for (std::size_t s = 0; s < trees; ++s) {
    Plan t;
    t.fanout = static_cast<int>(fanout);
    t.parent.assign(n, kSource);
    t.children.assign(n, {});
    // Breadth-first order: this tree's forwarders, then everyone else.
    std::vector<int> order;
    std::vector<bool> placed(n, false);
    for (std::size_t j = s; j < may_forward.size(); j += trees) {
      order.push_back(may_forward[j]);
      placed[static_cast<std::size_t>(may_forward[j])] = true;
    }
    const std::size_t forwarders = order.size();
    for (std::size_t i = 0; i < n; ++i)
      if (!placed[i]) order.push_back(static_cast<int>(i));
    // Positions [0, roots) hang off the source, position p >= roots off
    // position (p - roots) / fanout: only forwarders get children when
    // roots >= n - fanout * forwarders.
    const std::size_t roots = std::max<std::size_t>(1, n > fanout * forwarders ? n - fanout * forwarders : 0);
    for (std::size_t p = 0; p < order.size(); ++p) {
      const int node = order[p];
      if (p < roots) {
        t.source_children.push_back(node);
        continue;
      }
      const int parent = order[(p - roots) / fanout];
      t.parent[static_cast<std::size_t>(node)] = parent;
      t.children[static_cast<std::size_t>(parent)].push_back(node);
      st.interior[static_cast<std::size_t>(parent)] = static_cast<int>(s);
    }
    st.trees.push_back(std::move(t));
  }
  return st;
}

std::vector<std::vector<int>> reparent_stripes(Stripes& stripes, int failed,
                                               const std::vector<std::vector<std::uint64_t>>& have,
                                               const std::vector<bool>& alive) {
  const std::size_t k = stripes.trees.size();
  // Stripes a node uploads in all trees: the fan-out's worth is its share.
  auto uploads = [&](int p) {
    std::size_t n = 0;
    for (const Plan& t : stripes.trees) n += t.children[static_cast<std::size_t>(p)].size();
    return n;
  };
  std::vector<std::vector<int>> chosen;
  for (std::size_t s = 0; s < k; ++s) {
    const int tree = static_cast<int>(s);
    // Any node whose upload has room: this tree's forwarders below their
    // fan-out, a node that forwards nowhere yet, or one below whom the failed
    // node was a leaf in another tree (the slot it left there serves here).
    // No node uploads more than a copy.
    auto may_forward = [&](int p, int) {
      const auto i = static_cast<std::size_t>(p);
      return !(i < stripes.leaf_only.size() && stripes.leaf_only[i]) &&
             uploads(p) < static_cast<std::size_t>(stripes.trees[s].fanout);
    };
    // Those sit mostly at the bottom, below the orphans: an orphan may sink
    // to any depth. A level costs a chunk's time; a stripe from the source
    // costs every node a share of the source's uplink.
    const int any_depth = static_cast<int>(stripes.size());
    chosen.push_back(reparent(stripes.trees[s], failed, have[s], alive, may_forward, any_depth));
    for (int p : chosen.back())
      if (p >= 0 && stripes.interior[static_cast<std::size_t>(p)] == -1) stripes.interior[static_cast<std::size_t>(p)] = tree;
  }
  return chosen;
}

}  // namespace topology
