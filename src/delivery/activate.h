// `treesync activate`: put the operator's tags on images `treesync stage`
// left on the nodes, on every node at once, and report how close together
// they landed. Sends no image bytes. Exit 0 only if every node ends with
// every image under the operator's tags.
#pragma once

#include <cstddef>
#include <ostream>
#include <vector>

#include "src/delivery/node_run.h"
#include "src/input/cli.h"

namespace treesync {

int run_activate(const Options& options);

// The time between the first and the last node's tags, as the source saw
// the relays' replies (NodeRun::tagged_at), over the nodes that tagged.
struct ActivationSpread {
  std::size_t nodes = 0;
  double seconds = 0;
};
ActivationSpread activation_spread(const std::vector<NodeRun>& runs);
// The summary's line for it: nothing when no node was tagged.
void print_activation_spread(std::ostream& out, const ActivationSpread& spread);

}  // namespace treesync
