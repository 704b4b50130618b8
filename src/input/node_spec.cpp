#include "src/input/node_spec.h"

#include <regex>
#include <sstream>

#include "src/errors.h"

namespace treesync {

std::vector<NodeSpecItem> parse_node_spec(const std::string& spec) {
  static const std::regex index_re("[0-9]{1,6}");
  static const std::regex range_re("([0-9]{1,6})-([0-9]{1,6})");
  // A name starting with a digit is an address (a host list's 10.0.0.11,
  // fe80::1): it has a '.' or ':', so "1-" stays a malformed range.
  static const std::regex name_re("[A-Za-z][A-Za-z0-9._:-]*|[0-9][0-9A-Za-z._-]*[.:][0-9A-Za-z._:-]*");
  auto bad = [&](const std::string& why) {
    return UsageError("--nodes '" + printable(spec) + "': " + why + " (expected e.g. 0-10, 0,1,2,5 or node names)");
  };
  std::vector<NodeSpecItem> items;
  std::stringstream in(spec);
  std::string part;
  while (std::getline(in, part, ',')) {
    std::smatch m;
    NodeSpecItem item;
    if (std::regex_match(part, m, range_re)) {
      item.first = std::stoi(m[1]);
      item.last = std::stoi(m[2]);
      if (item.first > item.last) throw bad("range " + part + " is reversed");
    } else if (std::regex_match(part, index_re)) {
      item.first = item.last = std::stoi(part);
    } else if (std::regex_match(part, name_re)) {
      item.is_name = true;
      item.name = part;
    } else {
      throw bad(part.empty() ? "empty item" : "'" + printable(part) + "' is neither an index, a range nor a node name");
    }
    items.push_back(item);
  }
  if (items.empty() || spec.back() == ',') throw bad("empty item");
  return items;
}

}  // namespace treesync
