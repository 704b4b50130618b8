// One run's summary row: the times that matter for a rollout (every node,
// the median, the slowest of the nodes on a normal link) and what the source
// sent, in copies of the stream.
#pragma once

#include <string>
#include <vector>

#include "bench/sim/flow_sim.h"

namespace sim {

struct RunLabel {
  std::string mode;
  std::size_t nodes;
  int fanout;
  double slow_fraction, fail_fraction;
};

std::string summary_header();
std::string summary_row(const RunLabel& label, const std::vector<Host>& hosts, const Scenario& sc, const Result& r,
                        double wall_s);

}  // namespace sim
