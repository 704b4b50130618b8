// Reading an image out of OCI (and Docker v2) JSON: which platform's
// manifest an index names, the config and layer blobs a manifest names, the
// diff IDs a config names. Pure code, shared by the save-stream reader and
// the content-store reader (src/cache/layer_cache.cpp), tested in
// tests/oci_image_test.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace treesync {

struct Platform {
  std::string os, arch, variant;
  std::string str() const;  // "linux/amd64", "linux/arm/v7"
};

// The platform this program runs on (uname), in OCI's words.
Platform host_platform();
// "linux/arm64", "linux/arm/v7"; throws std::invalid_argument otherwise.
Platform parse_platform(const std::string& text);

// An image manifest: its config and its layer blobs, bottom first.
struct ManifestInfo {
  std::string config;               // sha256:…
  std::vector<std::string> layers;  // blob digests (compressed or not)
};

// What a blob store must answer for resolve_image: a blob's bytes (nullopt
// if the store does not hold it, or holds it but not its content).
using BlobLookup = std::function<std::optional<std::string>(const std::string& digest)>;
// Whether a blob is there at all (for layers, whose bytes are not read here).
using BlobPresent = std::function<bool(const std::string& digest)>;

// The image a target (a manifest or an index, by digest) stands for on
// `platform`: for an index, the manifest whose platform matches and whose
// config and layers the store holds all of (an image saved from Docker's
// containerd store can name platforms it does not hold). `what` names the
// image in errors. Throws std::runtime_error, one line, naming the platform,
// those the index names and those the store holds.
struct ResolvedImage {
  std::string manifest;  // digest of the platform's manifest
  ManifestInfo info;
  std::string config;    // the config's bytes
  std::vector<std::string> diff_ids;
};
ResolvedImage resolve_image(const std::string& target, const Platform& platform, const BlobLookup& lookup,
                            const BlobPresent& present, const std::string& what);

// Parsers, for JSON that may be anything: nullopt when it is not that.
std::optional<ManifestInfo> parse_manifest(const std::string& json);
std::optional<std::vector<std::string>> parse_diff_ids(const std::string& config_json);

}  // namespace treesync
