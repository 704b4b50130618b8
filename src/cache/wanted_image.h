// An image the run puts on nodes, as the source's runtime describes it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "src/runtime/source_image.h"

namespace treesync {

struct WantedImage {
  WantedImage() = default;
  WantedImage(std::string id_, std::vector<std::string> refs_, std::vector<std::string> diff_ids_ = {})
      : id(std::move(id_)), refs(std::move(refs_)), diff_ids(std::move(diff_ids_)) {}

  std::string id;                     // sha256:… of the image config, on the source
  std::vector<std::string> refs;      // normalized references to apply
  std::vector<std::string> diff_ids;  // its layers (the config's rootfs.diff_ids), bottom first
  // What the source's runtime calls it where that is not `id`: Docker's
  // containerd store and containerd name an image by its manifest or index
  // digest. Empty: `id`.
  std::string source_id;
  // Its layer blobs in the source's content store, per position (gzip or
  // zstd there), when they can be read one by one; else empty.
  std::vector<std::string> blobs;
  runtime::SourceRuntime source;      // where it is
  bool saved = false;                 // this run saved it into the layer cache already (to learn its config digest)
};

}  // namespace treesync
