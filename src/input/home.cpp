#include "src/input/home.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "src/errors.h"

namespace treesync {

std::string home_dir() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir && *pw->pw_dir) return pw->pw_dir;
  throw UsageError("no home directory: HOME is unset and the passwd entry has none (set HOME)");
}

std::string expand_home(const std::string& path) {
  return path == "~" ? home_dir() : path.rfind("~/", 0) == 0 ? home_dir() + path.substr(1) : path;
}

}  // namespace treesync
