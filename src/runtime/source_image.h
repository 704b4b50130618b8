// What the source's own container runtime is asked: which runtime holds the
// operator's images (Docker with either image store, podman, containerd),
// an image's ID and layers there, the command that saves images, and a
// containerd content store's blobs one by one (`ctr content get`). Always
// through the runtime's CLI with a fixed argv, never a shell.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "src/runtime/containerd.h"  // kContainerdSocket, kKubernetesNamespace
#include "src/runtime/subprocess.h"
#include "src/wire/protocol.h"

namespace runtime {

enum class SourceKind { Docker, DockerContainerd, Podman, Containerd };

struct SourceRuntime {
  SourceKind kind = SourceKind::Docker;
  // A containerd whose content store holds the images' blobs: containerd
  // itself, or the one Docker's containerd store uses when `ctr` reaches it.
  // Empty: none; layers come from a save.
  std::string address, ns;
  bool has_content() const { return !address.empty(); }
  // Docker's classic store: where it keeps images on this host (docker
  // info: DockerRootDir, Driver), for reading them in place.
  std::string docker_root, docker_driver;
  // "docker", "docker (containerd store)", "podman", "containerd (namespace k8s.io)"
  std::string name() const;
  // The command that lists the operator's images there, for hints.
  std::string list_hint(const std::string& ref) const;
};

// The source's runtime. `choice` is --source-runtime: "docker", "podman",
// "containerd", or "" to take Docker if its daemon answers, else podman if
// it is installed, else containerd. `ns` is containerd's namespace ("" for
// $CONTAINERD_NAMESPACE, else k8s.io); containerd's socket is
// $CONTAINERD_ADDRESS, else kContainerdSocket. Throws std::runtime_error,
// one line naming the runtime and the fix, when it does not answer.
SourceRuntime detect_source_runtime(const std::string& choice, const std::string& ns);

// One reference as the runtime sees it.
struct SourceInspect {
  bool found = false;
  std::string id;                     // sha256:…, the runtime's own ID (see WantedImage::source_id)
  std::vector<std::string> diff_ids;  // empty where the runtime does not say (containerd)
  std::string missing;                // when not found: one line, naming the image and the fix
};
// Throws std::runtime_error for failures other than "no such image".
SourceInspect inspect_source_image(const SourceRuntime& rt, const std::string& ref);

// The argv of one save of `ids` to stdout, in a layout SaveStream reads.
std::vector<std::string> save_command(const SourceRuntime& rt, const std::vector<std::string>& ids);
std::string save_label(const SourceRuntime& rt);  // "docker save", "podman save"

// Docker's containerd store: finds the containerd whose content store holds
// `digest` (a blob of one of the images), from `docker info` and the usual
// sockets, and records it in rt. False when `ctr` is missing, no socket
// answers (a user who is not root cannot reach it), or none holds it.
bool find_docker_content(SourceRuntime& rt, const wire::Json& docker_info, const std::string& digest);

// A blob of the content store, whole (manifests, indexes, configs), or
// nullopt if it does not hold it.
std::optional<std::string> content_get(const SourceRuntime& rt, const std::string& digest);
// A blob streamed to `sink` (layers); throws with ctr's message.
void content_stream(const SourceRuntime& rt, const std::string& digest, const OutputSink& sink);

}  // namespace runtime
