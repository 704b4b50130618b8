// The flow-level run: every edge of the plan is a flow of its stripe's
// bytes, rates are max-min fair over the hosts' uplinks and downlinks
// (fair_share.h), and a relay forwards a chunk only once it holds it whole,
// so a flow starts one chunk behind the flow that feeds its sender and never
// overtakes it. Event-driven: rates are recomputed only when a flow starts,
// ends, catches up with its feeder, or a node fails or is re-parented;
// between events every flow moves at a constant rate.
#pragma once

#include <cstdint>
#include <vector>

#include "bench/sim/layout.h"
#include "bench/sim/network.h"
#include "src/wire/protocol.h"

namespace sim {

struct Failure {
  int node = 0;
  double at = 0;  // seconds into the run
};

struct Scenario {
  std::uint64_t bytes = 0;                  // the stream every node needs (a cold node)
  std::uint64_t chunk = wire::kChunkSize;   // what a relay must hold whole before it forwards
  double load_rate = 0;                     // bytes per second a runtime loads; 0: at once
  int source_slots = 0;                     // most flows the source runs at once (flat: --max-workers); 0: all
  double detect_s = 2;                      // from a relay's death to its children's new parents
  std::vector<Failure> failures;
};

struct Result {
  std::vector<double> received;  // per node: seconds until its last byte; NaN: failed or never
  std::vector<double> loaded;    // per node: seconds until its runtime has the image
  double source_bytes = 0;       // what the source uploaded, resends included
  std::size_t events = 0;        // rate recomputations
};

Result simulate(Layout& layout, const std::vector<Host>& hosts, const Scenario& scenario);

}  // namespace sim
