// podman, rootful: image IDs are config digests (printed without
// "sha256:"), and a name without a registry is stored as localhost/NAME.
#pragma once

#include <memory>

#include "src/runtime/runtime.h"
#include "src/runtime/runtime_cli.h"

namespace runtime {

std::unique_ptr<Runtime> open_podman(const RuntimeCli& cli = RuntimeCli());

// The names under which `podman run NAME` finds an image: each tag as
// stored, and without localhost/ or docker.io/library/ as typed.
std::vector<std::string> podman_names(const std::vector<std::string>& repo_tags);

}  // namespace runtime
