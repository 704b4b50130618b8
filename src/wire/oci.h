// The OCI image layout a node's relay writes for runtimes built on
// containerd, and for podman: they refuse a docker-archive that leaves out
// layers they hold, but take an OCI layout that leaves out their blobs
// (DESIGN.md §9). treesync writes the manifest itself, with uncompressed
// layers (a layer's blob digest is its diff ID), so an image's manifest
// digest is the same on every node and computable at either end.
#pragma once

#include <string>
#include <vector>

#include "src/wire/messages.h"

namespace wire {

// The image manifest, byte for byte: compact JSON, keys in a fixed order.
std::string oci_manifest(const PlanImage& image);
std::string oci_manifest_digest(const PlanImage& image);

// index.json naming each image's manifest, without names: a node's image is
// named only once the source verified it.
std::string oci_index(const std::vector<PlanImage>& images);

// The archive's path of a blob: blobs/sha256/<hex>.
std::string oci_blob_path(const std::string& digest);

}  // namespace wire
