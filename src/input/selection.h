// Which inventory nodes a run targets: --node-type (the seed's docker,
// iarnet, all, or any group) and --nodes (indexes, ranges, names).
#pragma once

#include <string>
#include <vector>

#include "src/input/inventory.h"

namespace treesync {

// Returns the selected nodes in inventory order. Throws UsageError naming
// the unknown type, the index past the end (with how many nodes exist), or
// the node that is not of the selected type.
std::vector<Node> select_nodes(const Inventory& inv, const std::string& node_type, const std::string& node_spec);

}  // namespace treesync
