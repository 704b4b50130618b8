#include "src/ssh/relay_path.h"

#include <unistd.h>

#include <filesystem>

namespace treesync {

const std::vector<std::string> kRelayNames = {"treesync-relay", "treesync-relay-arm64"};

std::vector<std::string> relay_candidates(const std::string& exe_path, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(exe_path).parent_path();
  // TREESYNC_RELAY_DIR comes from CMakeLists.txt, which installs the relays there.
  return {(dir / name).string(), (dir.parent_path() / TREESYNC_RELAY_DIR / name).lexically_normal().string()};
}

std::string find_relay(const std::string& exe_path, const std::string& name) {
  const std::vector<std::string> all = relay_candidates(exe_path, name);
  for (const std::string& p : all)
    if (std::filesystem::is_regular_file(p)) return p;
  return all.front();
}

std::vector<std::string> default_relay_paths() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  const std::string exe = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : "./treesync";
  std::vector<std::string> out;
  for (const std::string& name : kRelayNames) out.push_back(find_relay(exe, name));
  return out;
}

}  // namespace treesync
