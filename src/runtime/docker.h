// What the relay asks of the node's Docker, always through the docker CLI
// with a fixed argv. Values are re-checked here: the relay trusts no input.
#pragma once

#include <string>
#include <vector>

#include "src/wire/messages.h"

namespace runtime {

bool is_image_id(const std::string& s);   // sha256:<64 hex>
bool is_plain_ref(const std::string& s);  // a conservative image reference

// `docker info` as JSON; throws "Docker daemon not reachable: …" when it is down.
wire::Json docker_info();

// "containerd" when Docker keeps images in containerd, else "classic".
std::string image_store(const wire::Json& docker_info);

// Docker's version, image store, data root and free space, for each image
// ID whether it is present and with which tags, and with `layers` the layer
// lists of all local images.
wire::ProbeReply probe_docker(const std::vector<std::string>& ids, const std::string& spool_dir, bool layers);

// Applies ref to id; throws with Docker's message on failure.
void tag_image(const std::string& id, const std::string& ref);

// Every image `docker load` printed ("Loaded image ID: sha256:…").
std::vector<std::string> parse_loaded_ids(const std::string& load_output);

std::vector<std::string> load_command();

}  // namespace runtime
