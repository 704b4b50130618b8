// The archive a node's runtime loads, as the relay writes it around the
// parts it verified: Docker's classic archive, or an OCI layout for the
// runtimes built on containerd and for podman. Either leaves out what the
// node holds; everything in it comes from the source's plan.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "src/runtime/runtime.h"
#include "src/wire/bundle.h"
#include "src/wire/messages.h"

namespace relay {

struct ArchiveFile {
  std::string path;   // ends in '/' for a directory
  std::string bytes;
};

class ArchiveLayout {
 public:
  ArchiveLayout(runtime::ArchiveFormat format, const std::vector<wire::PlanImage>& images);

  // What comes before the first part: the metadata files and directories.
  const std::vector<ArchiveFile>& head() const { return head_; }
  // A part's directories (if it needs its own) and then its path.
  std::vector<std::string> paths_of(const wire::Part& part) const;

 private:
  runtime::ArchiveFormat format_;
  std::vector<ArchiveFile> head_;
};

// docker load's manifest.json for the plan's images, without tags (nodes
// are tagged only after the source verified them); with `oci`, its paths
// point into blobs/ as in an OCI layout saved by Docker.
std::string docker_manifest_json(const std::vector<wire::PlanImage>& images, bool oci);

}  // namespace relay
