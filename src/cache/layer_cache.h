// The source's layer cache: each layer stored once, by diff ID, taken from
// one `docker save` of the images that are not cached yet, and compressed
// once; with the image configs beside them. An image whose config and
// layers are all here is never saved again. Layout (docs/design.md):
//   CACHE_DIR/layers/<diff hex>.tar or .tar.zst    CACHE_DIR/configs/<id hex>.json
#pragma once

#include <string>
#include <vector>

#include "src/cache/bundle_plan.h"
#include "src/input/cli.h"

namespace treesync {

// The run's bundle and where each part's bytes are.
struct PreparedBundle {
  Bundle bundle;
  std::vector<std::string> files;  // per part: its cache file
  bool saved = false;              // a docker save ran
  std::string compression;         // one line for people: what is compressed, and why
};

// Saves what is missing (one `docker save` of those images, by ID), converts
// layers to the form `mode` asks for, and lays out the bundle; prunes the
// cache if no other run uses it. The process must hold a CacheLease on
// `cache_dir` (src/cache/cache_lease.h). Throws with the path and the fix
// when the cache cannot be written.
PreparedBundle prepare_bundle(const std::vector<WantedImage>& images, const std::string& cache_dir, Compress mode);

}  // namespace treesync
