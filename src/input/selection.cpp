#include "src/input/selection.h"

#include <algorithm>
#include <set>

#include "src/errors.h"
#include "src/input/node_spec.h"

namespace treesync {
namespace {

bool has_type(const Node& n, const std::string& type) {
  return type == "all" || n.type == type || std::count(n.groups.begin(), n.groups.end(), type) > 0;
}

std::string known_types(const Inventory& inv) {
  std::set<std::string> names = {"all"};
  for (const auto& n : inv.nodes) {
    names.insert(n.type);
    names.insert(n.groups.begin(), n.groups.end());
  }
  std::string out;
  for (const auto& s : names) out += (out.empty() ? "" : ", ") + s;
  return out;
}

const Node* find_index(const Inventory& inv, int index) {
  for (const auto& n : inv.nodes)
    if (n.index == index) return &n;
  return nullptr;
}

}  // namespace

std::vector<Node> select_nodes(const Inventory& inv, const std::string& node_type, const std::string& node_spec) {
  std::vector<const Node*> of_type;
  for (const auto& n : inv.nodes)
    if (has_type(n, node_type)) of_type.push_back(&n);
  if (of_type.empty())
    throw UsageError("--node-type '" + printable(node_type) + "' matches no node in " + inv.path +
                     " (types and groups there: " + known_types(inv) + ")");
  if (node_spec.empty()) {
    std::vector<Node> out;
    for (const Node* n : of_type) out.push_back(*n);
    return out;
  }

  int max_index = 0;
  for (const auto& n : inv.nodes) max_index = std::max(max_index, n.index);
  std::set<std::string> wanted;
  auto want = [&](const Node* n, const std::string& asked) {
    if (!has_type(*n, node_type))
      throw UsageError("--nodes " + asked + ": node '" + n->name + "' is of type '" + n->type + "', not '" +
                       node_type + "' (add --node-type all or --node-type " + n->type + ")");
    wanted.insert(n->name);
  };
  for (const auto& item : parse_node_spec(node_spec)) {
    if (item.is_name) {
      auto it = std::find_if(inv.nodes.begin(), inv.nodes.end(), [&](const Node& n) { return n.name == item.name; });
      if (it == inv.nodes.end()) throw UsageError("--nodes: no node named '" + item.name + "' in " + inv.path);
      want(&*it, item.name);
      continue;
    }
    if (item.last > max_index)
      throw UsageError("--nodes " + node_spec + ": index " + std::to_string(item.last) + " is past the end; " +
                       inv.path + " has " + std::to_string(inv.nodes.size()) + " node(s), indexes 0-" +
                       std::to_string(max_index));
    for (int i = item.first; i <= item.last; ++i) {
      const Node* n = find_index(inv, i);
      // Ranges may span gaps in explicit indexes and nodes of other types;
      // a single index must name a node of the selected type.
      if (item.first == item.last) {
        if (!n) throw UsageError("--nodes: no node has index " + std::to_string(i) + " in " + inv.path);
        want(n, std::to_string(i));
      } else if (n && has_type(*n, node_type)) {
        wanted.insert(n->name);
      }
    }
  }
  std::vector<Node> out;
  for (const Node* n : of_type)
    if (wanted.count(n->name)) out.push_back(*n);
  if (out.empty()) throw UsageError("--nodes " + node_spec + " selects no node of type '" + node_type + "'");
  return out;
}

}  // namespace treesync
