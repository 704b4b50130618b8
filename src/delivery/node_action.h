// The smart check: from what a node already has, decide what it needs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "src/cache/wanted_image.h"

namespace treesync {

struct NodeImage {
  bool present = false;
  std::vector<std::string> tags;
};

enum class Action { Skip, Tag, Load };

struct Decision {
  Action action = Action::Skip;
  // What to tag once the images are verified: image ID -> references.
  std::map<std::string, std::vector<std::string>> tags;
};

// Skip when every image is present with every reference; Tag when every
// image is present but some references are missing; Load otherwise, or
// always with force (then every reference is applied after the load).
Decision decide(const std::vector<WantedImage>& wanted, const std::map<std::string, NodeImage>& on_node, bool force);

const char* action_name(Action a);

}  // namespace treesync
