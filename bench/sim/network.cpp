#include "bench/sim/network.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace sim {

std::vector<Host> make_network(std::size_t n, const NetworkSpec& spec) {
  std::vector<Host> hosts(n, Host{spec.rate, spec.rate, false});
  const double source = spec.source_rate > 0 ? spec.source_rate : spec.rate;
  hosts.push_back(Host{source, source, false});
  // Exactly round(fraction * n) slow nodes, a seeded choice: runs compare.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(spec.seed);
  std::shuffle(order.begin(), order.end(), rng);
  const auto slow = static_cast<std::size_t>(spec.slow_fraction * static_cast<double>(n) + 0.5);
  for (std::size_t i = 0; i < std::min(slow, n); ++i) {
    Host& h = hosts[order[i]];
    h = Host{spec.rate * spec.slow_factor, spec.rate * spec.slow_factor, true};
  }
  return hosts;
}

}  // namespace sim
