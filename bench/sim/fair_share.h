// Max-min fair rates of the flows that are moving, by progressive filling:
// all rates rise together; a flow stops rising when its sender's uplink or
// its receiver's downlink is full, or, if it has caught up with the flow
// that feeds its sender (a relay can only forward what it holds), when that
// flow stops rising.
#pragma once

#include <vector>

#include "bench/sim/network.h"

namespace sim {

struct FlowDemand {
  int sender = 0, receiver = 0;  // hosts
  int bound_by = -1;             // index of the flow whose rate this one may not exceed, or -1
};

std::vector<double> max_min_rates(const std::vector<FlowDemand>& flows, const std::vector<Host>& hosts);

}  // namespace sim
