#include "src/runtime/docker.h"

#include <sys/statvfs.h>

#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "src/runtime/subprocess.h"

namespace runtime {
namespace {

std::uint64_t free_bytes(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

// The layer lists (.RootFS.Layers, diff IDs) of every image on the node:
// treesync derives from them the layer chains the node already has.
std::vector<std::vector<std::string>> local_layers() {
  ProcessResult ls = run_capture({"docker", "image", "ls", "--all", "--quiet", "--no-trunc"});
  if (!ls.ok()) throw std::runtime_error("docker image ls failed: " + ls.last_line());
  std::vector<std::string> argv = {"docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}"};
  std::istringstream ids(ls.out);
  std::string id;
  std::set<std::string> seen;  // an image with several tags is listed once per tag
  while (ids >> id)
    if (is_image_id(id) && seen.insert(id).second) argv.push_back(id);
  std::vector<std::vector<std::string>> out;
  if (argv.size() == 5) return out;
  ProcessResult r = run_capture(argv);
  if (!r.ok()) throw std::runtime_error("docker image inspect failed: " + r.last_line());
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    wire::Json layers = wire::Json::parse(line, nullptr, false);
    if (!layers.is_array()) continue;
    out.emplace_back();
    for (const auto& d : layers)
      if (d.is_string()) out.back().push_back(d.get<std::string>());
  }
  return out;
}

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

bool is_image_id(const std::string& s) {
  static const std::regex re("sha256:[0-9a-f]{64}");
  return std::regex_match(s, re);
}

bool is_plain_ref(const std::string& s) {
  static const std::regex re("[a-z0-9][A-Za-z0-9._/:@-]{0,254}");
  return std::regex_match(s, re);
}

wire::Json docker_info() {
  ProcessResult r = run_capture({"docker", "info", "--format", "{{json .}}"});
  wire::Json j = wire::Json::parse(r.out, nullptr, false);
  // Newer CLIs print info even when the daemon is down, with ServerErrors.
  if (!j.is_discarded() && j.contains("ServerErrors") && !j["ServerErrors"].empty())
    throw std::runtime_error("Docker daemon not reachable: " + j["ServerErrors"][0].get<std::string>());
  if (!r.ok() || j.is_discarded() || !j.is_object())
    throw std::runtime_error("Docker daemon not reachable: " + r.last_line());
  return j;
}

wire::ProbeReply probe_docker(const std::vector<std::string>& ids, const std::string& spool_dir, bool layers) {
  wire::Json j = docker_info();
  wire::ProbeReply out;
  out.docker_version = j.value("ServerVersion", "");
  out.store = image_store(j);
  out.root_dir = j.value("DockerRootDir", "");
  out.root_free = free_bytes(out.root_dir.empty() ? "/" : out.root_dir);
  out.spool_free = free_bytes(spool_dir);
  if (layers) out.layers = local_layers();
  for (const auto& id : ids) {
    if (!is_image_id(id)) throw std::runtime_error("refusing malformed image ID '" + id + "'");
    ProcessResult r = run_capture({"docker", "image", "inspect", "--format", "{{json .RepoTags}}", id});
    wire::ImageState state{r.ok(), {}};
    if (r.ok()) {
      wire::Json tags = wire::Json::parse(r.out, nullptr, false);
      if (tags.is_array())
        for (const auto& t : tags)
          if (t.is_string()) state.tags.push_back(t.get<std::string>());
    } else if (r.err.find("No such image") == std::string::npos) {
      throw std::runtime_error("docker image inspect failed: " + r.last_line());
    }
    out.images[id] = state;
  }
  return out;
}

void tag_image(const std::string& id, const std::string& ref) {
  if (!is_image_id(id)) throw std::runtime_error("refusing malformed image ID '" + id + "'");
  if (!is_plain_ref(ref)) throw std::runtime_error("refusing malformed image reference '" + ref + "'");
  ProcessResult r = run_capture({"docker", "tag", id, ref});
  if (!r.ok()) throw std::runtime_error("docker tag " + ref + " failed: " + r.last_line());
}

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

std::vector<std::string> load_command() { return {"docker", "load"}; }

}  // namespace runtime
