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
  // Stripes each node may still upload.
  std::vector<std::size_t> room(n, 0);
  for (int i : may_forward) room[static_cast<std::size_t>(i)] = fanout;
  // Each tree's senders in breadth-first order, with the children each
  // takes: first the tree's own forwarders (the j-th node that may forward
  // serves tree j % trees), filled in turn, for every node but the one the
  // source feeds.
  const std::size_t need = n == 0 ? 0 : n - 1;
  std::vector<std::vector<std::pair<int, std::size_t>>> senders(trees);
  for (std::size_t s = 0; s < trees; ++s) {
    std::size_t left = need;
    for (std::size_t j = s; j < may_forward.size(); j += trees) {
      const auto i = static_cast<std::size_t>(may_forward[j]);
      const std::size_t take = std::min(room[i], left);
      senders[s].push_back({may_forward[j], take});
      room[i] -= take;
      left -= take;
    }
  }
  // Where n % trees leaves a tree a forwarder short, the nodes with upload
  // to spare (forwarders of the other trees, below their share there) take
  // the rest, the most room first: the source still feeds one node per tree.
  for (std::size_t s = 0; s < trees; ++s) {
    std::size_t left = need;
    for (const auto& sender : senders[s]) left -= sender.second;
    while (left > 0) {
      std::size_t best = n;
      for (std::size_t i = 0; i < n; ++i)
        if (room[i] > 0 && (best == n || room[i] > room[best])) best = i;
      if (best == n) break;  // nobody may forward: the source feeds the rest
      const std::size_t take = std::min(room[best], left);
      senders[s].push_back({static_cast<int>(best), take});
      room[best] -= take;
      left -= take;
    }
  }
  Stripes st;
  st.interior.assign(n, -1);
  st.leaf_only = leaf_only;
  for (std::size_t s = 0; s < trees; ++s) {
    Plan t;
    t.fanout = static_cast<int>(fanout);
    t.parent.assign(n, kSource);
    t.children.assign(n, {});
    // Breadth first: the senders, then everyone else. The source feeds the
    // first; each next node hangs off the first sender with room left.
    std::vector<int> order;
    std::vector<std::size_t> takes(n, 0);
    std::vector<bool> placed(n, false);
    for (const auto& [node, take] : senders[s]) {
      order.push_back(node);
      takes[static_cast<std::size_t>(node)] = take;
      placed[static_cast<std::size_t>(node)] = true;
    }
    for (std::size_t i = 0; i < n; ++i)
      if (!placed[i]) order.push_back(static_cast<int>(i));
    std::size_t at = 0;  // the sender whose children come next
    for (std::size_t p = 0; p < order.size(); ++p) {
      const int node = order[p];
      while (at < p && t.children[static_cast<std::size_t>(order[at])].size() >= takes[static_cast<std::size_t>(order[at])])
        ++at;
      if (at == p) {
        t.source_children.push_back(node);
        continue;
      }
      const int parent = order[at];
      t.parent[static_cast<std::size_t>(node)] = parent;
      t.children[static_cast<std::size_t>(parent)].push_back(node);
    }
    st.trees.push_back(std::move(t));
  }
  // The tree a node forwards in by its turn, or the one it helps out.
  for (std::size_t j = 0; j < may_forward.size(); ++j) {
    const auto i = static_cast<std::size_t>(may_forward[j]);
    if (!st.trees[j % trees].children[i].empty()) {
      st.interior[i] = static_cast<int>(j % trees);
      continue;
    }
    for (std::size_t s = 0; s < trees && st.interior[i] < 0; ++s)
      if (!st.trees[s].children[i].empty()) st.interior[i] = static_cast<int>(s);
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
