// The source's own images: which runtime holds them, which images the
// references name there, each one's config digest (treesync's identity for
// an image everywhere) and its layers.
#pragma once

#include <string>
#include <vector>

#include "src/cache/wanted_image.h"
#include "src/input/cli.h"

namespace treesync {

// Looks up every reference of `o.images` in the source runtime
// (--source-runtime, or the one that answers). Throws UsageError, before
// any connection, for a missing image (one line: the image and the fix) or
// a runtime that does not answer.
//
// Docker's classic store and podman give the config digest as the image
// ID. Docker's containerd store and containerd give the manifest (or index)
// digest: the config digest is read from the runtime's containerd content
// store with `ctr content get` when it can be reached (containerd always;
// Docker's when ctr is installed and the user may open its socket), else
// from the layer cache's record of an earlier save, else from one save of
// the image (into the layer cache when this run holds it: the save is not
// wasted). An index gives the manifest of the source's own platform.
std::vector<WantedImage> inspect_local_images(const Options& o);

}  // namespace treesync
