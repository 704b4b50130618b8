#include "src/local_images.h"

#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include <spdlog/spdlog.h>

#include "relay/docker_cli.h"
#include "relay/protocol.h"
#include "relay/subprocess.h"
#include "src/errors.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace fs = std::filesystem;

namespace treesync {
namespace {

constexpr int kArchivesKept = 4;

void check_local_docker() {
  wire::Json j;
  try {
    j = relay::docker_info();
  } catch (const std::exception& e) {
    throw UsageError(std::string("local ") + e.what() + " (start it: systemctl start docker; or set DOCKER_HOST)");
  }
  if (relay::image_store(j) == "containerd")
    throw UsageError("the local Docker keeps images in the containerd image store, whose image IDs treesync "
                     "cannot verify on nodes yet; use the classic store (\"features\": {\"containerd-snapshotter\": "
                     "false} in daemon.json)");
}

std::string cache_key(const std::vector<WantedImage>& images) {
  std::vector<std::string> ids;
  for (const auto& w : images) ids.push_back(w.id);
  std::sort(ids.begin(), ids.end());
  std::string joined;
  for (const auto& id : ids) joined += id + "\n";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(joined.data(), joined.size())));
  return hex;
}

void prune(const fs::path& dir, const fs::path& keep) {
  std::vector<std::pair<fs::file_time_type, fs::path>> tars;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto& p = e.path();
    if (p.extension() == ".tar" && p != keep) tars.emplace_back(fs::last_write_time(p, ec), p);
    // A save that died left its temp file; nobody else writes here.
    if (p.filename().string().rfind(".saving-", 0) == 0) {
      unsigned long pid = 0;
      if (std::sscanf(p.filename().c_str(), ".saving-%lu-", &pid) == 1 && ::kill(static_cast<pid_t>(pid), 0) != 0)
        fs::remove(p, ec);
    }
  }
  std::sort(tars.rbegin(), tars.rend());
  for (std::size_t i = kArchivesKept - 1; i < tars.size(); ++i) fs::remove(tars[i].second, ec);
}

}  // namespace

std::vector<WantedImage> inspect_local_images(const std::vector<std::string>& refs) {
  check_local_docker();
  std::vector<WantedImage> images;
  for (const auto& ref : refs) {
    wire::ProcessResult r = wire::run_capture({"docker", "image", "inspect", "--format", "{{.Id}}", ref});
    if (!r.ok()) {
      if (r.err.find("No such image") != std::string::npos)
        throw UsageError("image " + ref + " is not in the local Docker (check with: docker images " + ref +
                         "; pull or build it first, e.g. docker pull " + ref + ")");
      throw UsageError("cannot inspect local image " + ref + ": " + r.last_line());
    }
    std::string id = r.out.substr(0, r.out.find_first_of(" \n"));
    if (!relay::is_image_id(id)) throw UsageError("local Docker returned an unexpected ID '" + id + "' for " + ref);
    auto same = std::find_if(images.begin(), images.end(), [&](const WantedImage& w) { return w.id == id; });
    if (same != images.end())
      same->refs.push_back(ref);
    else
      images.push_back({id, {ref}});
  }
  return images;
}

Archive ensure_archive(const std::vector<WantedImage>& images, const std::string& cache_dir) {
  fs::path dir = fs::path(cache_dir) / "archives";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create cache directory " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  fs::path path = dir / (cache_key(images) + ".tar");

  Archive a;
  a.path = path.string();
  if (fs::exists(path, ec)) {
    a.size = fs::file_size(path);
    a.reused = true;
    fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // most recently used
    spdlog::info("reusing saved archive {} ({} bytes)", a.path, a.size);
    return a;
  }
  fs::path tmp = dir / (".saving-" + std::to_string(::getpid()) + "-" + cache_key(images));
  std::vector<std::string> argv = {"docker", "save", "-o", tmp.string()};
  for (const auto& w : images) argv.push_back(w.id);  // by ID: the archive carries no tags
  spdlog::info("saving {} image(s) to {}", images.size(), a.path);
  wire::ProcessResult r = wire::run_capture(argv);
  if (!r.ok()) {
    fs::remove(tmp, ec);
    throw std::runtime_error("docker save failed: " + r.last_line() + " (is there space in " + dir.string() + "?)");
  }
  fs::rename(tmp, path);
  a.size = fs::file_size(path);
  prune(dir, path);
  return a;
}

}  // namespace treesync
