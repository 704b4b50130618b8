#include "src/runtime/docker.h"

#include <sys/stat.h>

#include <cerrno>

#include <optional>
#include <sstream>
#include <stdexcept>

#include "src/runtime/cli_images.h"
#include "src/runtime/containerd.h"
#include "src/runtime/ctr_images.h"
#include "src/runtime/subprocess.h"

namespace runtime {
namespace {

// The containerd Docker keeps its images in, from `docker info` where it
// says (Docker 25+), else where Docker's own or the system's listens.
std::string docker_containerd_socket(const wire::Json& info) {
  const wire::Json c = info.value("Containerd", wire::Json::object());
  if (c.is_object() && c.value("Address", "") != "") return c["Address"].get<std::string>();
  struct stat st;
  // EACCES: under /run/docker (0700), where only root looks; a relay that
  // runs ctr through sudo reaches it.
  for (const char* s : {"/run/docker/containerd/containerd.sock", kContainerdSocket})
    if (::stat(s, &st) == 0 || errno == EACCES) return s;
  throw std::runtime_error("Docker keeps images in containerd, but no containerd socket was found");
}

std::string docker_containerd_namespace(const wire::Json& info) {
  const wire::Json c = info.value("Containerd", wire::Json::object());
  const wire::Json ns = c.is_object() ? c.value("Namespaces", wire::Json::object()) : wire::Json::object();
  return ns.is_object() && ns.value("Containers", "") != "" ? ns["Containers"].get<std::string>() : "moby";
}

class Docker : public Runtime {
 public:
  Docker(const wire::Json& info, const RuntimeCli& cli) : cli_(cli), store_(image_store(info)) {
    if (store_ == "containerd") {
      ctr_.emplace(docker_containerd_socket(info), docker_containerd_namespace(info), node_arch(), cli);
      // Docker's containerd socket is root's alone (under /run/docker, 0700):
      // the docker group does not open it. Asked now, at the open, where a
      // refusal can still turn to sudo (runtime_cli.h), not mid-probe.
      ctr_->server_version();
    }
  }

  wire::ProbeReply probe(const std::vector<std::string>& ids, bool layers) override {
    wire::Json info = docker_info(cli_);
    wire::ProbeReply out;
    out.runtime = "docker";
    out.version = info.value("ServerVersion", "");
    out.store = image_store(info);
    out.arch = node_arch();
    out.root_dir = info.value("DockerRootDir", "");
    out.root_free = free_bytes(out.root_dir.empty() ? "/" : out.root_dir);
    if (ctr_) {
      ctr_->probe(ids, layers, out);
      return out;
    }
    out.images = cli_image_states(cli_, "docker", ids);
    if (layers) out.layers = cli_local_layers(cli_, "docker");
    return out;
  }

  ArchiveFormat format() const override { return ctr_ ? ArchiveFormat::Oci : ArchiveFormat::DockerArchive; }
  std::vector<std::string> load_command() const override { return cli_.argv({"docker", "load"}); }
  bool sudo() const override { return cli_.sudo(); }
  void begin_load() override {
    if (ctr_) ctr_->note_leases();
  }

  // The classic store names what it loaded by config digest; the
  // containerd store by manifest digest, so it is read back by config.
  std::vector<std::string> loaded(const std::string& output, const std::vector<wire::PlanImage>& images) override {
    return ctr_ ? ctr_->loaded(images) : parse_loaded_ids(output);
  }

  // A failed load on the containerd store can leave an image a name still
  // finds (DESIGN.md §9); the classic store applies nothing before the end.
  void discard_failed_load(const std::vector<wire::PlanImage>& images) override {
    if (!ctr_) return;
    ctr_->remove_digest_names(manifest_digests(images));
    ctr_->drop_new_leases();
  }

  void tag(const std::string& id, const std::vector<std::string>& refs, bool) override {
    check_config_digest(id);
    std::string handle = id;
    std::optional<CtrImages::Image> img;
    if (ctr_) {
      img = ctr_->find(id);
      handle = img->target;
    }
    for (const auto& ref : refs) {
      check_ref(ref);
      ProcessResult r = cli_.run({"docker", "tag", handle, ref});
      if (!r.ok()) throw std::runtime_error("docker tag " + ref + " failed: " + r.last_line());
    }
    if (img && !refs.empty()) ctr_->remove_digest_names({img->target});
  }

  // `docker rmi NAME` of an image with other names only takes that name off.
  void untag(const std::string& id, const std::vector<std::string>& refs) override {
    if (refs.empty()) return;
    check_config_digest(id);
    const std::vector<std::string> drop =
        ctr_ ? removable_names(ctr_->tags_of(id), refs, full_name)
             : removable_names(cli_image_states(cli_, "docker", {id})[id].tags, refs, familiar_name);
    for (const auto& ref : drop) {
      ProcessResult r = cli_.run({"docker", "rmi", ref});
      if (!r.ok()) throw std::runtime_error("docker rmi " + ref + " failed: " + r.last_line());
    }
  }

 private:
  RuntimeCli cli_;
  std::string store_;
  std::optional<CtrImages> ctr_;
};

}  // namespace

// Docker 24+ can keep images in containerd, where `.Id` is the manifest
// digest, not the config digest the source compares against (DESIGN.md §9).
std::string image_store(const wire::Json& info) {
  for (const auto& pair : info.value("DriverStatus", wire::Json::array())) {
    if (pair.is_array() && pair.size() == 2 && pair[0] == "driver-type" &&
        pair[1].get<std::string>().find("snapshotter") != std::string::npos)
      return "containerd";
  }
  return "classic";
}

wire::Json docker_info(const RuntimeCli& cli) {
  ProcessResult r = cli.run({"docker", "info", "--format", "{{json .}}"});
  wire::Json j = wire::Json::parse(r.out, nullptr, false);
  // Newer CLIs print info even when the daemon is down, with ServerErrors.
  if (!j.is_discarded() && j.contains("ServerErrors") && !j["ServerErrors"].empty())
    throw std::runtime_error("Docker daemon not reachable: " + j["ServerErrors"][0].get<std::string>());
  if (!r.ok() || j.is_discarded() || !j.is_object())
    throw std::runtime_error("Docker daemon not reachable: " + r.last_line());
  return j;
}

std::unique_ptr<Runtime> open_docker(const RuntimeCli& cli) { return std::make_unique<Docker>(docker_info(cli), cli); }

std::vector<std::string> parse_loaded_ids(const std::string& load_output) {
  std::vector<std::string> ids;
  std::istringstream in(load_output);
  std::string line;
  const std::string prefix = "Loaded image ID: ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) ids.push_back(line.substr(prefix.size()));
  }
  return ids;
}

}  // namespace runtime
