// Which platform each image of a run is built for, from its config in the
// layer cache: a node loads only images its own architecture runs.
#pragma once

#include <map>
#include <string>

#include "src/cache/layer_cache.h"

namespace treesync {

// Per image ID, the config's "architecture" ("amd64", "arm64", …; "" if the
// config names none).
std::map<std::string, std::string> image_architectures(const PreparedBundle& prepared);

}  // namespace treesync
