// The source's layer cache: each layer stored once, by diff ID, taken from
// one `docker save` of the images that are not cached yet, and compressed
// once; with the image configs beside them. An image whose config and
// layers are all here is never saved again. Layout (docs/design.md):
//   CACHE_DIR/layers/<diff hex>.tar or .tar.zst    CACHE_DIR/configs/<id hex>.json
#pragma once

#include <memory>
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

// The archive of one `docker save` of `images`, taken into the cache at
// `cache_dir` (its layers/ and configs/ exist) as it arrives, whichever of
// Docker's two layouts it is in (docker-archive, or OCI layout from Docker
// 25 on). Layers go to disk as they stream, never whole into memory.
// prepare_bundle feeds it docker save's output; the tests feed it archives
// they make.
class SaveStream {
 public:
  SaveStream(const std::string& cache_dir, const std::vector<WantedImage>& images, Compress mode);
  ~SaveStream();  // removes the temp file of a layer still streaming
  SaveStream(const SaveStream&) = delete;
  SaveStream& operator=(const SaveStream&) = delete;

  void feed(const char* data, std::size_t n);  // throws on a malformed archive or a write error
  // Once the whole archive came: writes the configs, then throws, saying what
  // was found, unless every image's config and layers are in the cache.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace treesync
