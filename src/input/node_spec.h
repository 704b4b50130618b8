// The --nodes argument: "0-10", "0,1,2,5", names, or a mix ("0-3,7,gpu-1").
#pragma once

#include <string>
#include <vector>

namespace treesync {

struct NodeSpecItem {
  bool is_name = false;
  std::string name;   // when is_name
  int first = 0;      // an index range, inclusive; first == last for one index
  int last = 0;
};

// Throws UsageError naming the bad item (malformed, reversed range, empty).
std::vector<NodeSpecItem> parse_node_spec(const std::string& spec);

}  // namespace treesync
