// A node's container runtime, as the relay drives it: Docker (either image
// store), containerd (Kubernetes nodes) or podman. The relay opens one at
// the first probe and asks everything of it through this interface; every
// runtime is driven through its own CLI with a fixed argv. Images are named
// everywhere by their config digest (DESIGN.md §9): each runtime maps that
// to its own handle (a classic image ID, a containerd manifest digest).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/wire/messages.h"

namespace runtime {

// What the runtime's load reads: Docker's classic archive, or an OCI layout
// that may leave out blobs the node holds (DESIGN.md §9).
enum class ArchiveFormat { DockerArchive, Oci };

class Runtime {
 public:
  virtual ~Runtime() = default;

  // The runtime's facts and, per config digest in `ids`, whether a whole
  // image is here and by which names; with `layers`, the diff IDs of every
  // local image whose layers this runtime could reuse from an archive that
  // leaves them out. root_dir/root_free are where the load writes.
  virtual wire::ProbeReply probe(const std::vector<std::string>& ids, bool layers) = 0;

  virtual ArchiveFormat format() const = 0;
  virtual std::vector<std::string> load_command() const = 0;
  // Whether its commands run through `sudo -n` (runtime_cli.h).
  virtual bool sudo() const = 0;
  // Called before each load starts: what discard_failed_load must know.
  virtual void begin_load() = 0;

  // After a load that exited 0, with what it printed: the config digests of
  // those `images` that are now whole on the node.
  virtual std::vector<std::string> loaded(const std::string& output, const std::vector<wire::PlanImage>& images) = 0;

  // After a load that failed or was killed: removes what it left that a
  // name could later find (containerd keeps a half-imported image), or
  // that the next load would trip over (a half-written blob it resumes).
  virtual void discard_failed_load(const std::vector<wire::PlanImage>& images) = 0;

  // Names image `id` (a config digest seen by probe or loaded) by each ref;
  // with `pin`, keeps it from kubelet's image garbage collection.
  virtual void tag(const std::string& id, const std::vector<std::string>& refs, bool pin) = 0;
  // Takes each of `refs` off image `id`, leaving the image and its other
  // names; a ref that names another image, or nothing, is left alone.
  virtual void untag(const std::string& id, const std::vector<std::string>& refs) = 0;
};

// The runtime the request names, or the first installed on the node:
// Docker (dockerd or its socket), then containerd (its socket or binary),
// then podman; run as this user may (runtime_cli.h: directly, or through
// sudo). Throws one line when it does not answer, or none is there, or the
// user may not use it.
std::unique_ptr<Runtime> open_runtime(const wire::ProbeRequest& request);

// --- shared by the runtimes ---

// An architecture as image configs name it (GOARCH): from uname -m, a
// Debian architecture or a config's own spelling.
std::string normal_arch(const std::string& arch);
// This machine's, by uname -m.
std::string node_arch();
std::uint64_t free_bytes(const std::string& path);
// Whether two paths live on one filesystem (their free space is shared).
bool same_filesystem(const std::string& a, const std::string& b);
// `ref` as Docker shows it: without docker.io/library/ or docker.io/.
std::string familiar_name(const std::string& ref);
// `ref` as containerd and Kubernetes store it: docker.io/library/app:1.
std::string full_name(const std::string& ref);
// An executable `program` on PATH, or in the sbin folders a non-root
// login's PATH leaves out.
bool installed(const std::string& program);
// An image ID as a CLI printed it, with "sha256:" (podman leaves it out).
std::string image_id_of(const std::string& printed);
bool is_image_id(const std::string& s);   // sha256:<64 hex>
bool is_plain_ref(const std::string& s);  // a conservative image reference
void check_config_digest(const std::string& id);  // throws unless is_image_id
void check_ref(const std::string& ref);           // throws unless is_plain_ref
// Which of `refs` untag may take off an image named `names` (as the runtime
// lists them; `as_listed` maps a ref to that form): those it holds, as long
// as some other name stays, so untagging never deletes the image.
std::vector<std::string> removable_names(const std::vector<std::string>& names, const std::vector<std::string>& refs,
                                         std::string (*as_listed)(const std::string&));

}  // namespace runtime
