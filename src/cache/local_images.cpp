#include "src/cache/local_images.h"

#include <algorithm>

#include "src/runtime/docker.h"
#include "src/wire/protocol.h"
#include "src/runtime/subprocess.h"
#include "src/errors.h"

namespace treesync {
namespace {

void check_local_docker() {
  wire::Json j;
  try {
    j = runtime::docker_info();
  } catch (const std::exception& e) {
    throw UsageError(std::string("local ") + e.what() + " (start it: systemctl start docker; or set DOCKER_HOST)");
  }
  if (runtime::image_store(j) == "containerd")
    throw UsageError("the local Docker keeps images in the containerd image store, whose image IDs treesync "
                     "cannot verify on nodes yet; use the classic store (\"features\": {\"containerd-snapshotter\": "
                     "false} in daemon.json)");
}

}  // namespace

std::vector<WantedImage> inspect_local_images(const std::vector<std::string>& refs) {
  check_local_docker();
  std::vector<WantedImage> images;
  for (const auto& ref : refs) {
    runtime::ProcessResult r =
        runtime::run_capture({"docker", "image", "inspect", "--format", "{{.Id}} {{json .RootFS.Layers}}", ref});
    if (!r.ok()) {
      if (r.err.find("No such image") != std::string::npos)
        throw UsageError("image " + ref + " is not in the local Docker (check with: docker images " + ref +
                         "; pull or build it first, e.g. docker pull " + ref + ")");
      throw UsageError("cannot inspect local image " + ref + ": " + r.last_line());
    }
    std::string id = r.out.substr(0, r.out.find_first_of(" \n"));
    if (!runtime::is_image_id(id)) throw UsageError("local Docker returned an unexpected ID '" + id + "' for " + ref);
    auto same = std::find_if(images.begin(), images.end(), [&](const WantedImage& w) { return w.id == id; });
    if (same != images.end()) {
      same->refs.push_back(ref);
      continue;
    }
    wire::Json layers = wire::Json::parse(r.out.substr(r.out.find(' ') + 1), nullptr, false);
    if (!layers.is_array() || layers.empty()) throw UsageError("local Docker lists no layers for " + ref);
    images.push_back({id, {ref}, layers.get<std::vector<std::string>>()});
  }
  return images;
}

}  // namespace treesync
