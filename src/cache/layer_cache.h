// The source's layer cache: each layer stored once, by diff ID, taken from
// one save of the images that are not cached yet (docker save, podman save)
// or read blob by blob from a containerd content store, decompressed if the
// runtime keeps it compressed and compressed once as treesync sends it;
// with the image configs beside them. An image whose config and layers are
// all here is never saved again. Layout (docs/design.md):
//   CACHE_DIR/layers/<diff hex>.tar or .tar.zst    CACHE_DIR/configs/<id hex>.json
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/cache/bundle_plan.h"
#include "src/cache/oci_image.h"
#include "src/input/cli.h"
#include "src/runtime/subprocess.h"

namespace treesync {

// The run's bundle and where each part's bytes are.
struct PreparedBundle {
  Bundle bundle;
  std::vector<std::string> files;  // per part: its cache file
  bool saved = false;              // a save (or content read) into the cache ran
  // How the cache got what the run lacked, for the summary, where no save
  // ran: "no docker save: every layer was cached", or what was read from
  // Docker's layer store.
  std::string how;
  std::string compression;         // one line for people: what is compressed, and why
};

// Saves what is missing (one save of those images, by the source runtime's
// ID, or from a content store only the blobs the cache lacks), converts
// layers to the form `mode` asks for, and lays out the bundle; prunes the
// cache if no other run uses it. The process must hold a CacheLease on
// `cache_dir` (src/cache/cache_lease.h). Throws with the path and the fix
// when the cache cannot be written.
PreparedBundle prepare_bundle(const std::vector<WantedImage>& images, const std::string& cache_dir, Compress mode);

struct SaveOptions {
  bool write = true;           // false: only learn the images' config digests, write nothing
  Platform platform = host_platform();  // the image to take from an index
  std::string label = "docker save";    // for errors
};

// The archive of one save of `images`, taken into the cache at `cache_dir`
// (its layers/ and configs/ exist) as it arrives, whichever layout it is in:
// docker-archive (Docker 24 and older; podman's, with <diff hex>.tar), or
// OCI layout (Docker 25 on, either image store), whose layer blobs may be
// gzip or zstd (the containerd store keeps them as pulled or built) and are
// decompressed once into the cache, each checked against the diff ID its
// config lists at its position. An image may come with its config digest
// (`id`) unknown, only `source_id` (the containerd store's manifest or index
// digest): the archive says, for `platform`. Layers go to disk as they
// stream, never whole into memory. prepare_bundle feeds it a save's output;
// the tests feed it archives they make.
class SaveStream {
 public:
  SaveStream(const std::string& cache_dir, const std::vector<WantedImage>& images, Compress mode,
             SaveOptions options = {});
  ~SaveStream();  // removes the temp file of a layer still streaming
  SaveStream(const SaveStream&) = delete;
  SaveStream& operator=(const SaveStream&) = delete;

  void feed(const char* data, std::size_t n);  // throws on a malformed archive or a write error
  // Once the whole archive came: writes the configs, then throws, saying what
  // was found, unless every image's config and layers are in the cache.
  void finish();
  // After finish: the images, each with its config digest and diff IDs.
  const std::vector<WantedImage>& images() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Takes `images` into the cache from a content store that hands out blobs
// one by one: each image's config, and only the layers the cache lacks
// (each image's `blobs`), decompressed and checked against its diff ID.
// prepare_bundle gives it `ctr content get`; the tests, blobs they made.
using BlobFetch = std::function<void(const std::string& digest, const runtime::OutputSink& sink)>;
void fetch_into_cache(const std::string& cache_dir, const std::vector<WantedImage>& images, Compress mode,
                      const BlobFetch& fetch, const std::string& label);

}  // namespace treesync
