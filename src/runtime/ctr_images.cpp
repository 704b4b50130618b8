#include "src/runtime/ctr_images.h"

#include <set>
#include <sstream>
#include <stdexcept>

#include "src/runtime/runtime.h"
#include "src/wire/bundle.h"
#include "src/wire/oci.h"

namespace runtime {

CtrImages::CtrImages(std::string socket, std::string ns, std::string arch, RuntimeCli cli)
    : socket_(std::move(socket)), ns_(std::move(ns)), arch_(std::move(arch)), cli_(cli) {}

ProcessResult CtrImages::run(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"ctr", "--address", socket_, "--namespace", ns_};
  argv.insert(argv.end(), args.begin(), args.end());
  return cli_.run(argv);
}

std::string CtrImages::server_version() const {
  ProcessResult r = run({"version"});
  if (!r.ok()) throw std::runtime_error("containerd at " + socket_ + " does not answer: " + r.last_line());
  // "Server:" is followed by "  Version:  1.6.20~ds1".
  std::size_t server = r.out.find("Server:");
  std::size_t at = r.out.find("Version:", server == std::string::npos ? 0 : server);
  if (server == std::string::npos || at == std::string::npos) return "";
  std::istringstream line(r.out.substr(at + 8));
  std::string version;
  line >> version;
  return version;
}

bool CtrImages::is_tag(const std::string& name) {
  return name.find('@') == std::string::npos && name.rfind("sha256:", 0) != 0;
}

// "" when containerd does not hold it: an index commonly names manifests
// of platforms that were never pulled.
std::string CtrImages::content(const std::string& digest) const {
  if (!wire::is_digest(digest)) throw std::runtime_error("containerd named a malformed digest '" + digest + "'");
  ProcessResult r = run({"content", "get", digest});
  return r.ok() ? r.out : "";
}

std::string CtrImages::config_of(const std::string& target) {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto known = config_of_.find(target);
    if (known != config_of_.end()) return known->second;
  }
  const wire::Json j = wire::Json::parse(content(target), nullptr, false);
  std::string config;
  if (j.is_object() && j.contains("manifests") && j["manifests"].is_array()) {  // an index: this platform's manifest
    for (const auto& m : j["manifests"]) {
      const wire::Json p = m.value("platform", wire::Json::object());
      if (p.value("os", "") == "linux" && p.value("architecture", "") == arch_ && m.contains("digest")) {
        config = config_of(m["digest"].get<std::string>());
        break;
      }
    }
  } else if (j.is_object() && j.contains("config") && j["config"].is_object()) {
    config = j["config"].value("digest", "");
  }
  std::lock_guard<std::mutex> lock(cache_mu_);
  return config_of_[target] = config;
}

std::vector<std::string> CtrImages::diff_ids_of(const std::string& config) {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto known = diff_ids_.find(config);
    if (known != diff_ids_.end()) return known->second;
  }
  wire::Json j = wire::Json::parse(content(config), nullptr, false);
  std::vector<std::string> out;
  if (j.is_object() && j.contains("rootfs"))
    for (const auto& d : j["rootfs"].value("diff_ids", wire::Json::array()))
      if (d.is_string()) out.push_back(d.get<std::string>());
  std::lock_guard<std::mutex> lock(cache_mu_);
  return diff_ids_[config] = out;
}

// `ctr images check` lists every image with its completeness for this
// platform: REF TYPE DIGEST STATUS …, STATUS "complete" when every blob is here.
std::vector<CtrImages::Image> CtrImages::list() {
  ProcessResult r = run({"images", "check"});
  if (!r.ok()) throw std::runtime_error("ctr images check failed: " + r.last_line());
  std::vector<Image> out;
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    Image img;
    std::string type, status;
    if (!(fields >> img.name >> type >> img.target >> status) || !wire::is_digest(img.target)) continue;
    img.complete = status == "complete";
    img.config = config_of(img.target);
    out.push_back(img);
  }
  return out;
}

void CtrImages::probe(const std::vector<std::string>& ids, bool layers, wire::ProbeReply& reply) {
  std::vector<Image> images = list();
  for (const auto& id : ids) {
    check_config_digest(id);
    wire::ImageState& state = reply.images[id];
    for (const auto& img : images) {
      if (img.config != id || !img.complete) continue;
      state.present = true;
      if (is_tag(img.name)) state.tags.push_back(familiar_name(img.name));
    }
  }
  if (!layers) return;
  ProcessResult blobs = run({"content", "ls", "--quiet"});
  if (!blobs.ok()) throw std::runtime_error("ctr content ls failed: " + blobs.last_line());
  std::set<std::string> held;
  std::istringstream in(blobs.out);
  for (std::string d; in >> d;) held.insert(d);
  std::set<std::string> seen;
  for (const auto& img : images) {
    if (!img.complete || img.config.empty() || !seen.insert(img.config).second) continue;
    std::vector<std::string> reusable;
    for (const auto& diff : diff_ids_of(img.config)) {
      if (!held.count(diff)) break;
      reusable.push_back(diff);
    }
    if (!reusable.empty()) reply.layers.push_back(reusable);
  }
}

std::vector<std::string> CtrImages::loaded(const std::vector<wire::PlanImage>& images) {
  std::vector<Image> now = list();
  std::vector<std::string> out;
  for (const auto& want : images) {
    const std::string manifest = wire::oci_manifest_digest(want);
    for (const auto& img : now)
      if (img.target == manifest && img.complete && img.config == want.config) {
        out.push_back(want.config);
        break;
      }
  }
  return out;
}

void CtrImages::remove_digest_names(const std::set<std::string>& targets) {
  for (const auto& img : list())
    if (targets.count(img.target) && img.name.find('@') != std::string::npos) run({"images", "rm", img.name});
}

namespace {

std::set<std::string> lease_ids(const ProcessResult& r) {
  std::set<std::string> ids;
  std::istringstream in(r.out);
  for (std::string id; in >> id;) ids.insert(id);
  return ids;
}

}  // namespace

void CtrImages::note_leases() { leases_before_ = lease_ids(run({"leases", "ls", "--quiet"})); }

void CtrImages::drop_new_leases() {
  std::vector<std::string> args = {"leases", "rm", "--sync"};
  for (const auto& id : lease_ids(run({"leases", "ls", "--quiet"})))
    if (!leases_before_.count(id)) args.push_back(id);
  if (args.size() > 3) run(args);
}

std::vector<std::string> CtrImages::tags_of(const std::string& id) {
  check_config_digest(id);
  std::vector<std::string> out;
  for (const auto& img : list())
    if (img.config == id && img.complete && is_tag(img.name)) out.push_back(img.name);
  return out;
}

CtrImages::Image CtrImages::find(const std::string& id) {
  check_config_digest(id);
  Image found;
  for (const auto& img : list()) {
    if (img.config != id || !img.complete) continue;
    // A name someone typed is the better source for a tag than a digest name.
    if (found.name.empty() || (is_tag(img.name) && !is_tag(found.name))) found = img;
  }
  if (found.name.empty()) throw std::runtime_error("no whole image with config " + id + " in namespace " + ns_);
  return found;
}

}  // namespace runtime
