// The hosts of a simulated run: every node and the source have an uplink
// and a downlink of their own (bytes per second); a flow is limited by its
// sender's uplink and its receiver's downlink, nothing in between (a
// non-blocking switch, as in the lab).
#pragma once

#include <cstdint>
#include <vector>

namespace sim {

struct Host {
  double up = 0, down = 0;  // bytes per second
  bool slow = false;
};

struct NetworkSpec {
  double rate = 25e6;         // every node's link, each way
  double source_rate = 0;     // the source's link; 0: the same as the nodes'
  double slow_fraction = 0;   // this share of the nodes, picked at random ...
  double slow_factor = 0.1;   // ... get their link times this
  std::uint32_t seed = 1;
};

// Hosts 0..n-1 are the nodes, host n is the source.
std::vector<Host> make_network(std::size_t n, const NetworkSpec& spec);

}  // namespace sim
