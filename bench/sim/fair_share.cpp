#include "bench/sim/fair_share.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <utility>

namespace sim {

std::vector<double> max_min_rates(const std::vector<FlowDemand>& flows, const std::vector<Host>& hosts) {
  const std::size_t h = hosts.size();
  // Resource r < h: host r's uplink; r >= h: host r - h's downlink.
  std::vector<double> cap(2 * h);
  for (std::size_t i = 0; i < h; ++i) {
    cap[i] = hosts[i].up;
    cap[h + i] = hosts[i].down;
  }
  std::vector<int> unfrozen(2 * h, 0);
  std::vector<std::vector<int>> on(2 * h), bound(flows.size());
  for (std::size_t f = 0; f < flows.size(); ++f) {
    const std::size_t up = static_cast<std::size_t>(flows[f].sender);
    const std::size_t down = h + static_cast<std::size_t>(flows[f].receiver);
    on[up].push_back(static_cast<int>(f));
    on[down].push_back(static_cast<int>(f));
    ++unfrozen[up];
    ++unfrozen[down];
    if (flows[f].bound_by >= 0) bound[static_cast<std::size_t>(flows[f].bound_by)].push_back(static_cast<int>(f));
  }
  using Level = std::pair<double, std::size_t>;  // fair share left, resource
  std::priority_queue<Level, std::vector<Level>, std::greater<Level>> levels;
  auto level = [&](std::size_t r) { return std::max(cap[r], 0.0) / unfrozen[r]; };
  for (std::size_t r = 0; r < 2 * h; ++r)
    if (unfrozen[r] > 0) levels.push({level(r), r});

  std::vector<double> rate(flows.size(), 0);
  std::vector<bool> frozen(flows.size(), false);
  // Freezing a flow also freezes, at its rate, the caught-up flows it feeds.
  std::vector<int> stack;
  auto freeze = [&](int first, double at) {
    stack.push_back(first);
    while (!stack.empty()) {
      const auto f = static_cast<std::size_t>(stack.back());
      stack.pop_back();
      if (frozen[f]) continue;
      frozen[f] = true;
      rate[f] = at;
      for (std::size_t r : {static_cast<std::size_t>(flows[f].sender), h + static_cast<std::size_t>(flows[f].receiver)}) {
        cap[r] -= at;
        if (--unfrozen[r] > 0) levels.push({level(r), r});
      }
      for (int d : bound[f]) stack.push_back(d);
    }
  };
  while (!levels.empty()) {
    const auto [share, r] = levels.top();
    levels.pop();
    if (unfrozen[r] == 0 || share != level(r)) continue;  // stale entry
    for (int f : on[r])
      if (!frozen[static_cast<std::size_t>(f)]) freeze(f, share);
  }
  return rate;
}

}  // namespace sim
