#include "src/cache/cache_lease.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "src/errors.h"
#include "src/shutdown.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

const char* const kMarker = ".treesync-cache";
const char* const kOwnerLock = ".lock";
const char* const kSharedLock = ".lock-shared";

std::mutex g_leases_mu;
std::map<std::string, CacheLease*> g_leases;

std::runtime_error lock_error(const fs::path& path, const std::string& what) {
  return std::runtime_error("cannot use the layer cache at " + path.string() + ": " + what +
                            " (check its permissions, or point --cache-dir elsewhere)");
}

int open_lock_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw lock_error(path, std::strerror(errno));
  return fd;
}

void close_fd(int& fd) {
  // close, never LOCK_UN: a forked child shares the lock's open file, and
  // LOCK_UN from either would release it for both.
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool try_lock(int fd, int how) {
  for (;;) {
    if (::flock(fd, how | LOCK_NB) == 0) return true;
    if (errno != EINTR) return false;
  }
}

pid_t read_pid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? static_cast<pid_t>(std::atol(buf)) : 0;
}

void write_pid(int fd) {
  const std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    spdlog::debug("cannot record this run's PID in the layer cache's lock file: {}", std::strerror(errno));
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(p, ec));
}

// What may stand in a cache that has no marker yet: what treesync itself
// puts there. The default directory (~/.cache/treesync) is also where a
// relay keeps its files when the source is itself a node, and where whole
// archives were cached before the layer cache.
bool treesync_made(const std::string& name, bool is_default) {
  static const std::set<std::string> cache = {kMarker, kOwnerLock, kSharedLock, "layers", "configs"};
  if (cache.count(name)) return true;
  if (!is_default) return false;
  for (const char* prefix : {"treesync-relay-", "run-", ".upload-"})
    if (name.rfind(prefix, 0) == 0) return true;
  return name == "archives";
}

// Why an existing `dir` cannot be a layer cache, "" if it can.
std::string refusal(const fs::path& dir, bool is_default) {
  const std::string fix = is_default ? "move it away, or give --cache-dir DIR"
                                     : "give an empty or new directory, such as --cache-dir " + (dir / "treesync").string();
  const std::string what = is_default ? "the layer cache directory " + dir.string() : "--cache-dir " + dir.string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return what + " is not a directory; " + fix;
  if (fs::exists(dir / kMarker, ec)) return "";
  bool layers = false, configs = false;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!treesync_made(name, is_default) || ((name == "layers" || name == "configs") && !is_dir(e.path())))
      return what + " holds '" + printable(name) + "', which is not part of a treesync layer cache (it has no " +
             kMarker + " file, and treesync deletes files in its cache); " + fix;
    layers |= name == "layers";
    configs |= name == "configs";
  }
  if (ec) return what + " cannot be read: " + ec.message() + "; " + fix;
  // A lone layers/ or configs/ is somebody's own; an older treesync made both.
  if (layers != configs && !is_default)
    return what + " holds '" + (layers ? "layers" : "configs") + "' alone, which is not a treesync layer cache; " + fix;
  return "";
}

// Creates `dir` with mode 0700; false if it was there already.
bool make_private_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return true;
  if (errno == EEXIST) return false;
  throw lock_error(dir, std::string("cannot create it: ") + std::strerror(errno));
}

}  // namespace

std::unique_ptr<CacheLease> CacheLease::open(const std::string& dir, bool is_default, std::chrono::milliseconds wait) {
  const fs::path root(dir);
  std::error_code ec;
  bool created = false;
  if (!fs::exists(root, ec)) {
    if (root.has_parent_path()) fs::create_directories(root.parent_path(), ec);
    created = make_private_dir(root);
  }
  if (!created) {
    std::string why = refusal(root, is_default);
    if (!why.empty()) throw UsageError(why);
  }
  std::unique_ptr<CacheLease> lease(new CacheLease(dir));
  lease->take(wait);
  lease->settle(created);
  std::lock_guard<std::mutex> lock(g_leases_mu);
  g_leases[dir] = lease.get();
  return lease;
}

CacheLease* CacheLease::held(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_leases_mu);
  auto it = g_leases.find(dir);
  return it == g_leases.end() ? nullptr : it->second;
}

CacheLease::~CacheLease() {
  {
    std::lock_guard<std::mutex> lock(g_leases_mu);
    auto it = g_leases.find(dir_);
    if (it != g_leases.end() && it->second == this) g_leases.erase(it);
  }
  close_fd(owner_fd_);
  close_fd(shared_fd_);
}

void CacheLease::take(std::chrono::milliseconds wait) {
  const fs::path root(dir_);
  owner_fd_ = open_lock_file(root / kOwnerLock);
  auto deadline = std::chrono::steady_clock::now() + wait;
  bool said = false;
  for (;;) {
    if (try_lock(owner_fd_, LOCK_EX)) {
      mode_ = Mode::Owner;
      write_pid(owner_fd_);
      if (said) spdlog::info("the layer cache at {} is free now", dir_);
      return;
    }
    if (!said) {
      holder_ = read_pid(owner_fd_);
      spdlog::warn("waiting for the layer cache at {}, in use by another treesync run (pid {}), for up to {} s", dir_,
                   holder_ ? std::to_string(holder_) : "unknown",
                   (wait.count() + 999) / 1000);
      said = true;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    if (shutdown_flag()) throw std::runtime_error("interrupted while waiting for the layer cache at " + dir_);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Share it: the owner sees this lock and does not prune while it is held.
  // Blocks only while an owner is pruning, which is short.
  close_fd(owner_fd_);
  shared_fd_ = open_lock_file(root / kSharedLock);
  while (::flock(shared_fd_, LOCK_SH) != 0)
    if (errno != EINTR) throw lock_error(root / kSharedLock, std::strerror(errno));
  mode_ = Mode::Sharer;
  spdlog::warn("the layer cache at {} is still in use by another treesync run (pid {}): sharing it; this run will "
               "not prune it", dir_, holder_ ? std::to_string(holder_) : "unknown");
}

// Under the lock: the marker, the cache's own folders, and what an older
// treesync left that this one no longer reads.
void CacheLease::settle(bool created_now) {
  const fs::path root(dir_);
  std::error_code ec;
  const bool older = !created_now && (is_dir(root / "layers") || is_dir(root / "configs") || is_dir(root / "archives"));
  if (!fs::exists(root / kMarker, ec)) {
    int fd = ::open((root / kMarker).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    const std::string text = "treesync layer cache: treesync prunes layers/ and configs/ here\n";
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      int err = errno;
      if (fd >= 0) ::close(fd);
      throw lock_error(root / kMarker, std::strerror(err));
    }
    ::close(fd);
    if (older) spdlog::info("adopted the layer cache at {}, made by an older treesync", dir_);
    // Whole archives, as treesync cached them before the layer cache.
    if (older && mode_ == Mode::Owner && is_dir(root / "archives")) fs::remove_all(root / "archives", ec);
  }
  make_private_dir(root / "layers");
  make_private_dir(root / "configs");
}

bool CacheLease::prune_if_alone(const std::function<void()>& prune) {
  if (mode_ != Mode::Owner) {
    spdlog::debug("layer cache {}: shared with another run, not pruned", dir_);
    return false;
  }
  struct Fd {
    int fd;
    ~Fd() { close_fd(fd); }
  } shared{open_lock_file(fs::path(dir_) / kSharedLock)};
  if (!try_lock(shared.fd, LOCK_EX)) {
    spdlog::debug("layer cache {}: another run shares it, not pruned", dir_);
    return false;
  }
  prune();
  return true;
}

}  // namespace treesync
