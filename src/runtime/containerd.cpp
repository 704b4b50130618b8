#include "src/runtime/containerd.h"

#include <sys/stat.h>

#include <set>
#include <stdexcept>

#include "src/runtime/ctr_images.h"
#include "src/wire/oci.h"

namespace runtime {
namespace {

// Where containerd keeps content and snapshots unless its config moves it.
constexpr const char* kContainerdRoot = "/var/lib/containerd";

class Containerd : public Runtime {
 public:
  Containerd(const std::string& socket, const std::string& ns, const RuntimeCli& cli)
      : socket_(socket), ns_(ns), cli_(cli), images_(socket, ns, node_arch(), cli), version_(images_.server_version()) {}

  wire::ProbeReply probe(const std::vector<std::string>& ids, bool layers) override {
    wire::ProbeReply out;
    out.runtime = "containerd";
    out.version = version_;
    out.store = ns_;
    out.arch = node_arch();
    struct stat st;
    out.root_dir = ::stat(kContainerdRoot, &st) == 0 ? kContainerdRoot : "/";
    out.root_free = free_bytes(out.root_dir);
    images_.probe(ids, layers, out);
    return out;
  }

  ArchiveFormat format() const override { return ArchiveFormat::Oci; }

  // --digests: an archive without names imports nothing without it (and
  // exits 0); the digest name it makes is replaced by the tags later.
  std::vector<std::string> load_command() const override {
    return cli_.argv({"ctr", "--address", socket_, "--namespace", ns_, "images", "import", "--digests", "-"});
  }
  bool sudo() const override { return cli_.sudo(); }

  void begin_load() override { images_.note_leases(); }

  std::vector<std::string> loaded(const std::string&, const std::vector<wire::PlanImage>& images) override {
    return images_.loaded(images);
  }

  void discard_failed_load(const std::vector<wire::PlanImage>& images) override {
    images_.remove_digest_names(manifest_digests(images));
    images_.drop_new_leases();
  }

  // Kubernetes asks for docker.io/library/app:1 when a pod says app:1.
  void tag(const std::string& id, const std::vector<std::string>& refs, bool pin) override {
    if (refs.empty()) return;
    CtrImages::Image img = images_.find(id);
    std::vector<std::string> args = {"images", "tag", "--force", img.name};
    for (const auto& ref : refs) {
      check_ref(ref);
      args.push_back(full_name(ref));
    }
    ProcessResult r = images_.run(args);
    if (!r.ok()) throw std::runtime_error("ctr images tag " + img.name + " failed: " + r.last_line());
    if (pin)
      for (const auto& ref : refs) {
        ProcessResult l = images_.run({"images", "label", full_name(ref), "io.cri-containerd.pinned=pinned"});
        if (!l.ok()) throw std::runtime_error("ctr images label " + full_name(ref) + " failed: " + l.last_line());
      }
    images_.remove_digest_names({img.target});
  }

  // The content stays: another name still points at the same manifest.
  void untag(const std::string& id, const std::vector<std::string>& refs) override {
    if (refs.empty()) return;
    for (const auto& ref : removable_names(images_.tags_of(id), refs, full_name)) {
      ProcessResult r = images_.run({"images", "rm", full_name(ref)});
      if (!r.ok()) throw std::runtime_error("ctr images rm " + full_name(ref) + " failed: " + r.last_line());
    }
  }

 private:
  std::string socket_, ns_;
  RuntimeCli cli_;
  CtrImages images_;
  std::string version_;
};

}  // namespace

std::set<std::string> manifest_digests(const std::vector<wire::PlanImage>& images) {
  std::set<std::string> out;
  for (const auto& img : images) out.insert(wire::oci_manifest_digest(img));
  return out;
}

std::unique_ptr<Runtime> open_containerd(const std::string& socket, const std::string& ns, const RuntimeCli& cli) {
  return std::make_unique<Containerd>(socket, ns, cli);
}

}  // namespace runtime
