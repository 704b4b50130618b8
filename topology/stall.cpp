#include "topology/stall.h"

namespace topology {

bool stalled(const Progress& node, const Progress* parent, double stall_s) {
  if (node.complete || node.waiting || node.idle_s < stall_s) return false;
  if (!parent) return true;
  const bool parent_live = parent->alive && (parent->complete || parent->idle_s < stall_s);
  return parent_live && parent->position > node.position;
}

bool slow_forwarder(std::uint64_t node_lag, std::uint64_t parent_lag, std::uint64_t limit) {
  return node_lag > parent_lag && node_lag - parent_lag >= limit;
}

}  // namespace topology
