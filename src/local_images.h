// The source's own Docker: which images the references name, and the saved
// archive of them, cached by image ID so unchanged images are saved once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/node_action.h"

namespace treesync {

// Looks up every reference in the local Docker. Throws UsageError, before any
// connection, for a missing image (with the seed guide's hint) or a Docker
// that is down or keeps images in containerd (IDs not comparable).
std::vector<WantedImage> inspect_local_images(const std::vector<std::string>& refs);

struct Archive {
  std::string path;
  std::uint64_t size = 0;
  bool reused = false;  // true when no docker save ran
};

// The images saved by ID into one archive (shared layers once, no tags: the
// nodes are tagged only after verification). Cached as
// CACHE_DIR/archives/<hash of the IDs>.tar; the newest few are kept.
Archive ensure_archive(const std::vector<WantedImage>& images, const std::string& cache_dir);

}  // namespace treesync
