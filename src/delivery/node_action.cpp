#include "src/delivery/node_action.h"

#include <algorithm>

namespace treesync {

Decision decide(const std::vector<WantedImage>& wanted, const std::map<std::string, NodeImage>& on_node, bool force) {
  Decision d;
  bool all_present = true;
  for (const auto& w : wanted) {
    auto it = on_node.find(w.id);
    bool present = it != on_node.end() && it->second.present;
    all_present = all_present && present;
    for (const auto& ref : w.refs) {
      bool tagged = present && std::count(it->second.tags.begin(), it->second.tags.end(), ref) > 0;
      if (!tagged || force) d.tags[w.id].push_back(ref);
    }
  }
  if (force || !all_present) {
    d.action = Action::Load;
    d.tags.clear();
    for (const auto& w : wanted)
      if (!w.refs.empty()) d.tags[w.id] = w.refs;
  } else {
    d.action = d.tags.empty() ? Action::Skip : Action::Tag;
  }
  return d;
}

const char* action_name(Action a) {
  switch (a) {
    case Action::Skip: return "skip";
    case Action::Tag: return "tag";
    case Action::Load: return "load";
  }
  return "?";
}

}  // namespace treesync
