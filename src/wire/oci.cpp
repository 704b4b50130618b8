#include "src/wire/oci.h"

#include "src/wire/digest.h"

namespace wire {
namespace {

// nlohmann's default object sorts keys; this writes them in the order given.
using OrderedJson = nlohmann::ordered_json;

OrderedJson descriptor(const char* media_type, const std::string& digest, std::uint64_t size) {
  OrderedJson d;
  d["mediaType"] = media_type;
  d["digest"] = digest;
  d["size"] = size;
  return d;
}

}  // namespace

std::string oci_manifest(const PlanImage& image) {
  if (image.layer_sizes.size() != image.layers.size())
    throw Error("image " + image.config + ": " + std::to_string(image.layers.size()) + " layers but " +
                std::to_string(image.layer_sizes.size()) + " sizes");
  OrderedJson m;
  m["schemaVersion"] = 2;
  m["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
  m["config"] = descriptor("application/vnd.oci.image.config.v1+json", image.config, image.config_size);
  m["layers"] = OrderedJson::array();
  for (std::size_t i = 0; i < image.layers.size(); ++i)
    m["layers"].push_back(descriptor("application/vnd.oci.image.layer.v1.tar", image.layers[i], image.layer_sizes[i]));
  return m.dump();
}

std::string oci_manifest_digest(const PlanImage& image) { return sha256_digest(oci_manifest(image)); }

std::string oci_index(const std::vector<PlanImage>& images) {
  OrderedJson index;
  index["schemaVersion"] = 2;
  index["mediaType"] = "application/vnd.oci.image.index.v1+json";
  index["manifests"] = OrderedJson::array();
  for (const auto& img : images) {
    std::string manifest = oci_manifest(img);
    index["manifests"].push_back(
        descriptor("application/vnd.oci.image.manifest.v1+json", sha256_digest(manifest), manifest.size()));
  }
  return index.dump();
}

std::string oci_blob_path(const std::string& digest) { return "blobs/sha256/" + digest.substr(digest.find(':') + 1); }

}  // namespace wire
