#include "topology/stall.h"

namespace topology {

bool stalled(const Progress& node, const Progress* parent, double stall_s) {
  if (node.complete || node.waiting || node.idle_s < stall_s) return false;
  if (!parent) return true;
  const bool parent_live = parent->alive && (parent->complete || parent->idle_s < stall_s);
  return parent_live && parent->position > node.position;
}

// Window-blocked, stripe s sits up to a window past where the load reads
// it, and the load reads every stripe to within a unit of the laggard.
int held_back_by(const std::vector<Progress>& stripes, int s, std::uint64_t window, std::uint64_t unit,
                 double stall_s) {
  int laggard = -1;
  for (std::size_t t = 0; t < stripes.size(); ++t)
    if (!stripes[t].complete && (laggard < 0 || stripes[t].position < stripes[static_cast<std::size_t>(laggard)].position))
      laggard = static_cast<int>(t);
  if (laggard < 0 || laggard == s) return -1;
  const Progress& me = stripes[static_cast<std::size_t>(s)];
  const Progress& slow = stripes[static_cast<std::size_t>(laggard)];
  const bool slow_moves = slow.waiting || slow.idle_s < stall_s;  // else its own stall is what to act on
  if (!slow_moves || me.position <= slow.position) return -1;
  return me.position + 2 * unit > slow.position + window ? laggard : -1;
}

bool slow_forwarder(std::uint64_t node_lag, std::uint64_t parent_lag, std::uint64_t limit) {
  return node_lag > parent_lag && node_lag - parent_lag >= limit;
}

}  // namespace topology
