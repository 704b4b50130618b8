#include "src/runtime/podman.h"

#include <cstdlib>
#include <stdexcept>

#include "src/runtime/cli_images.h"
#include "src/runtime/subprocess.h"

namespace runtime {
namespace {

wire::Json podman_info(const RuntimeCli& cli) {
  ProcessResult r = cli.run({"podman", "info", "--format", "json"});
  wire::Json j = wire::Json::parse(r.out, nullptr, false);
  if (!r.ok() || !j.is_object()) throw std::runtime_error("podman info failed: " + r.last_line());
  return j;
}

// podman load copies its input to TMPDIR, then unpacks it under /var/tmp
// while it probes the format (DESIGN.md §9). sudo resets the environment:
// podman run through it has no TMPDIR of the relay's.
std::string podman_temp_dir(const RuntimeCli& cli) {
  const char* tmp = cli.sudo() ? nullptr : std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/var/tmp";
}

class Podman : public Runtime {
 public:
  explicit Podman(const RuntimeCli& cli) : cli_(cli) {}

  wire::ProbeReply probe(const std::vector<std::string>& ids, bool layers) override {
    wire::Json info = podman_info(cli_);
    const wire::Json store = info.value("store", wire::Json::object());
    wire::ProbeReply out;
    out.runtime = "podman";
    out.version = info.value("version", wire::Json::object()).value("Version", "");
    out.store = store.value("graphDriverName", "");
    out.arch = node_arch();
    out.root_dir = store.value("graphRoot", "/var/lib/containers/storage");
    out.root_free = free_bytes(out.root_dir);
    out.temp_dir = podman_temp_dir(cli_);
    out.temp_free = free_bytes(out.temp_dir);
    out.images = cli_image_states(cli_, "podman", ids);
    for (auto& [id, state] : out.images) state.tags = podman_names(state.tags);
    if (layers) out.layers = cli_local_layers(cli_, "podman");
    return out;
  }

  ArchiveFormat format() const override { return ArchiveFormat::Oci; }
  std::vector<std::string> load_command() const override { return cli_.argv({"podman", "load"}); }
  bool sudo() const override { return cli_.sudo(); }
  void begin_load() override {}

  // podman names the image by its config digest: look for each one.
  std::vector<std::string> loaded(const std::string&, const std::vector<wire::PlanImage>& images) override {
    std::vector<std::string> ids, out;
    for (const auto& img : images) ids.push_back(img.config);
    for (const auto& [id, state] : cli_image_states(cli_, "podman", ids))
      if (state.present) out.push_back(id);
    return out;
  }

  // podman commits an image only once every layer is in.
  void discard_failed_load(const std::vector<wire::PlanImage>&) override {}

  void tag(const std::string& id, const std::vector<std::string>& refs, bool) override {
    check_config_digest(id);
    for (const auto& ref : refs) {
      check_ref(ref);
      ProcessResult r = cli_.run({"podman", "tag", id, ref});
      if (!r.ok()) throw std::runtime_error("podman tag " + ref + " failed: " + r.last_line());
    }
  }

  void untag(const std::string& id, const std::vector<std::string>& refs) override {
    if (refs.empty()) return;
    check_config_digest(id);
    // RepoTags as podman stores them: a name with a registry, as staged
    // names have, is kept as given.
    auto as_given = [](const std::string& ref) { return ref; };
    for (const auto& ref : removable_names(cli_image_states(cli_, "podman", {id})[id].tags, refs, as_given)) {
      ProcessResult r = cli_.run({"podman", "untag", id, ref});
      if (!r.ok()) throw std::runtime_error("podman untag " + ref + " failed: " + r.last_line());
    }
  }

 private:
  RuntimeCli cli_;
};

}  // namespace

std::vector<std::string> podman_names(const std::vector<std::string>& repo_tags) {
  std::vector<std::string> out;
  for (const auto& t : repo_tags) {
    out.push_back(t);
    for (const char* prefix : {"localhost/", "docker.io/library/"})
      if (t.rfind(prefix, 0) == 0) out.push_back(t.substr(std::string(prefix).size()));
  }
  return out;
}

std::unique_ptr<Runtime> open_podman(const RuntimeCli& cli) {
  podman_info(cli);  // throws when podman is missing or cannot reach its storage
  return std::make_unique<Podman>(cli);
}

}  // namespace runtime
