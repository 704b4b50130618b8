// Docker on a node, or on the source: the classic image store (image ID =
// config digest) or the containerd image store (Docker 24+, the default
// from 29), whose images the relay reads through Docker's containerd.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/runtime/runtime.h"
#include "src/runtime/runtime_cli.h"
#include "src/wire/messages.h"

namespace runtime {

// `docker info` as JSON; throws "Docker daemon not reachable: …" when it is down.
wire::Json docker_info(const RuntimeCli& cli = RuntimeCli());

// "containerd" when Docker keeps images in containerd, else "classic".
std::string image_store(const wire::Json& docker_info);

std::unique_ptr<Runtime> open_docker(const RuntimeCli& cli = RuntimeCli());

// Every image `docker load` printed ("Loaded image ID: sha256:…").
std::vector<std::string> parse_loaded_ids(const std::string& load_output);

}  // namespace runtime
