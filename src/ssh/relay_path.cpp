#include "src/ssh/relay_path.h"

#include <unistd.h>

#include <filesystem>

namespace treesync {

std::vector<std::string> relay_candidates(const std::string& exe_path) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(exe_path).parent_path();
  // TREESYNC_RELAY_DIR comes from CMakeLists.txt, which installs the relay there.
  return {(dir / "treesync-relay").string(),
          (dir.parent_path() / TREESYNC_RELAY_DIR / "treesync-relay").lexically_normal().string()};
}

std::string find_relay(const std::string& exe_path) {
  const std::vector<std::string> all = relay_candidates(exe_path);
  for (const std::string& p : all)
    if (std::filesystem::is_regular_file(p)) return p;
  return all.front();
}

std::string default_relay_path() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  return find_relay(n > 0 ? std::string(self, static_cast<std::size_t>(n)) : "./treesync");
}

}  // namespace treesync
