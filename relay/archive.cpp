#include "relay/archive.h"

#include "src/wire/oci.h"

namespace relay {
namespace {

std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

}  // namespace

std::string docker_manifest_json(const std::vector<wire::PlanImage>& images, bool oci) {
  auto config_path = [oci](const std::string& d) { return oci ? wire::oci_blob_path(d) : hex_of(d) + ".json"; };
  auto layer_path = [oci](const std::string& d) { return oci ? wire::oci_blob_path(d) : hex_of(d) + "/layer.tar"; };
  wire::Json m = wire::Json::array();
  for (const auto& img : images) {
    wire::Json layers = wire::Json::array();
    for (const auto& d : img.layers) layers.push_back(layer_path(d));
    m.push_back({{"Config", config_path(img.config)}, {"RepoTags", nullptr}, {"Layers", layers}});
  }
  return m.dump();
}

// The OCI layout's metadata goes first, every manifest blob included: the
// runtimes read it before the blobs, and it names blobs left out as well.
ArchiveLayout::ArchiveLayout(runtime::ArchiveFormat format, const std::vector<wire::PlanImage>& images)
    : format_(format) {
  const bool oci = format == runtime::ArchiveFormat::Oci;
  if (oci) {
    head_.push_back({"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"});
    head_.push_back({"index.json", wire::oci_index(images)});
  }
  head_.push_back({"manifest.json", docker_manifest_json(images, oci)});
  if (!oci) return;
  head_.push_back({"blobs/", ""});
  head_.push_back({"blobs/sha256/", ""});
  for (const auto& img : images) {
    std::string manifest = wire::oci_manifest(img);
    head_.push_back({wire::oci_blob_path(wire::oci_manifest_digest(img)), manifest});
  }
}

std::vector<std::string> ArchiveLayout::paths_of(const wire::Part& part) const {
  if (format_ == runtime::ArchiveFormat::Oci) return {wire::oci_blob_path(part.digest)};
  if (part.kind == wire::PartKind::Config) return {hex_of(part.digest) + ".json"};
  return {hex_of(part.digest) + "/", hex_of(part.digest) + "/layer.tar"};
}

}  // namespace relay
