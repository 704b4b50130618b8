// The source's own Docker: which images the references name, and their layers.
#pragma once

#include <string>
#include <vector>

#include "src/cache/wanted_image.h"

namespace treesync {

// Looks up every reference in the local Docker. Throws UsageError, before any
// connection, for a missing image (with the seed guide's hint) or a Docker
// that is down or keeps images in containerd (IDs not comparable).
std::vector<WantedImage> inspect_local_images(const std::vector<std::string>& refs);

}  // namespace treesync
