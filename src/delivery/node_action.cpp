#include "src/delivery/node_action.h"

#include <algorithm>

#include "src/delivery/staged_ref.h"

namespace treesync {
namespace {

bool has_all(const std::vector<std::string>& tags, const std::vector<std::string>& refs) {
  return std::all_of(refs.begin(), refs.end(),
                     [&](const std::string& r) { return std::find(tags.begin(), tags.end(), r) != tags.end(); });
}

std::vector<std::string> present_of(const std::vector<std::string>& tags, const std::vector<std::string>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs)
    if (std::find(tags.begin(), tags.end(), r) != tags.end()) out.push_back(r);
  return out;
}

Decision decide_activation(const std::vector<WantedImage>& wanted, const std::map<std::string, NodeImage>& on_node) {
  Decision d;
  for (const auto& w : wanted) {
    auto it = on_node.find(w.id);
    const bool present = it != on_node.end() && it->second.present;
    const std::vector<std::string> staged = staged_refs(w.refs);
    const std::vector<std::string> tags = present ? it->second.tags : std::vector<std::string>{};
    if (!present || (!has_all(tags, w.refs) && !has_all(tags, staged))) {
      d.unstaged.insert(d.unstaged.end(), w.refs.begin(), w.refs.end());
      continue;
    }
    for (const auto& ref : w.refs)
      if (std::find(tags.begin(), tags.end(), ref) == tags.end()) d.tags[w.id].push_back(ref);
    std::vector<std::string> drop = present_of(tags, staged);
    if (!drop.empty()) d.untag[w.id] = drop;
  }
  if (!d.unstaged.empty()) {
    d.action = Action::Unstaged;  // a node left as it was: nothing applied to any image
    d.tags.clear();
    d.untag.clear();
  } else {
    d.action = d.tags.empty() && d.untag.empty() ? Action::Skip : Action::Tag;
  }
  return d;
}

}  // namespace

Decision decide(const std::vector<WantedImage>& wanted, const std::map<std::string, NodeImage>& on_node, bool force,
                Tagging tagging) {
  if (tagging == Tagging::Activate) return decide_activation(wanted, on_node);
  const bool stage = tagging == Tagging::Staged;
  Decision d;
  d.pin = stage;
  bool all_present = true;
  for (const auto& w : wanted) {
    auto it = on_node.find(w.id);
    bool present = it != on_node.end() && it->second.present;
    all_present = all_present && present;
    const std::vector<std::string> refs = stage ? staged_refs(w.refs) : w.refs;
    const std::vector<std::string> tags = present ? it->second.tags : std::vector<std::string>{};
    // stage: an image already active here needs no staged name.
    const bool done = stage && has_all(tags, w.refs) && !w.refs.empty();
    for (const auto& ref : refs) {
      bool tagged = present && (done || std::find(tags.begin(), tags.end(), ref) != tags.end());
      if (!tagged || force) d.tags[w.id].push_back(ref);
    }
    if (!stage) {
      std::vector<std::string> drop = present_of(tags, staged_refs(w.refs));
      if (!drop.empty()) d.untag[w.id] = drop;
    }
  }
  if (force || !all_present) {
    d.action = Action::Load;
    d.tags.clear();
    for (const auto& w : wanted)
      if (!w.refs.empty()) d.tags[w.id] = stage ? staged_refs(w.refs) : w.refs;
  } else {
    d.action = d.tags.empty() && d.untag.empty() ? Action::Skip : Action::Tag;
  }
  return d;
}

const char* action_name(Action a) {
  switch (a) {
    case Action::Skip: return "skip";
    case Action::Tag: return "tag";
    case Action::Load: return "load";
    case Action::Unstaged: return "not staged";
  }
  return "?";
}

}  // namespace treesync
