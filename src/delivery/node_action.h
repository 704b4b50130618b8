// The smart check: from what a node already has, decide what it needs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "src/cache/wanted_image.h"
#include "src/input/cli.h"

namespace treesync {

struct NodeImage {
  bool present = false;
  std::vector<std::string> tags;
};

// Unstaged: activate found an image neither staged nor tagged on the node.
enum class Action { Skip, Tag, Load, Unstaged };

struct Decision {
  Action action = Action::Skip;
  // What to tag once the images are verified: image ID -> references.
  std::map<std::string, std::vector<std::string>> tags;
  // Staged references to drop once the operator's tags are on (image ID ->
  // references): from then on the image is held as a sync would leave it.
  std::map<std::string, std::vector<std::string>> untag;
  // stage: the staged names are pinned on containerd whatever --no-pin says,
  // so kubelet's garbage collection cannot evict an image nothing runs yet.
  bool pin = false;
  std::vector<std::string> unstaged;  // activate: the references not staged here
};

// Operator (sync): Skip when every image is present with every reference;
// Tag when every image is present but some references are missing; Load
// otherwise, or always with force (then every reference is applied after
// the load). Staged (stage): the same with the staged references, where an
// image present with the operator's references counts as staged already.
// Activate: Tag the operator's references of images present under their
// staged ones, Skip where they are on already, Unstaged (nothing applied)
// if any image is neither.
Decision decide(const std::vector<WantedImage>& wanted, const std::map<std::string, NodeImage>& on_node, bool force,
                Tagging tagging = Tagging::Operator);

const char* action_name(Action a);

}  // namespace treesync
