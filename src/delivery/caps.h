// A run's upload caps (--limit-rate, --source-limit, the inventory's
// `limit:` per node or zone): who sends at what rate, and how long the
// stream should take under them (topology/cost.h), for the auto mode, the
// plan and the summary.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "src/cache/layer_cache.h"
#include "src/delivery/node_run.h"
#include "topology/cost.h"

namespace treesync {

// Bits per second on the wire; 0: none.
std::uint64_t source_cap(const Options& o);
std::uint64_t relay_cap(const Node& node, const Options& o);

// Loading nodes whose relay cap is their own or their zone's (not --limit-rate), by name.
std::map<std::string, std::uint64_t> own_caps(const std::vector<NodeRun>& runs, const Options& o);

// A node's upload in the cost model: its cap or the inventory's uplink,
// whichever is lower, stream bytes/s (0: unknown).
double node_upload(const Node& node, const Options& o);
// Per loading node, whether its upload is too slow to forward in striped
// trees (topology::slow_uploaders).
std::vector<bool> leaf_only(const std::vector<const NodeRun*>& loaders, const Options& o);

// The predicted stream time of each mode for the nodes that load.
topology::Predictions predict(const std::vector<NodeRun>& runs, const Bundle& bundle, const Options& o);

// "caps (on the wire): source 50 Mbit/s, relays 50 Mbit/s (node3 100
// Mbit/s)", or "" when nothing is capped.
std::string caps_line(const std::vector<NodeRun>& runs, const Options& o);
// "predicted under the caps: 31.5 s to stream (tree)", or "" with no prediction.
std::string prediction_line(const topology::Predictions& p, topology::Mode mode);

}  // namespace treesync
