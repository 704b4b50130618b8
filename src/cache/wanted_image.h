// An image the run puts on nodes, as the source's runtime describes it.
#pragma once

#include <string>
#include <vector>

namespace treesync {

struct WantedImage {
  std::string id;                     // sha256:… of the image config, on the source
  std::vector<std::string> refs;      // normalized references to apply
  std::vector<std::string> diff_ids;  // its layers (.RootFS.Layers), bottom first
};

}  // namespace treesync
