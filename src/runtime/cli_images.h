// Docker's classic store and podman answer the same CLI questions about
// images: `image inspect` by config digest (their image ID), and the layer
// lists of every local image.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "src/runtime/runtime_cli.h"
#include "src/wire/messages.h"

namespace runtime {

// Per ID, whether `binary` has it and its RepoTags, as the CLI prints them.
std::map<std::string, wire::ImageState> cli_image_states(const RuntimeCli& cli, const std::string& binary,
                                                        const std::vector<std::string>& ids);

// The layer lists (.RootFS.Layers, diff IDs) of every local image: treesync
// derives from them the layer chains the node already has.
std::vector<std::vector<std::string>> cli_local_layers(const RuntimeCli& cli, const std::string& binary);

}  // namespace runtime
