#include "relay/state_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace relay {
namespace {

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t at; (at = line.find(sep, start)) != std::string::npos; start = at + 1) out.push_back(line.substr(start, at - start));
  out.push_back(line.substr(start));
  return out;
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// Names in a directory, read before any is removed.
std::vector<std::string> entries(int dir_fd) {
  std::vector<std::string> out;
  int fd = ::dup(dir_fd);
  DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (!d) {
    if (fd >= 0) ::close(fd);
    return out;
  }
  ::rewinddir(d);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

// Removes `name` in the directory `dir_fd`: a real directory with all it
// holds; anything else, symlinks included, is unlinked and not followed.
void remove_at(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    ::unlinkat(dir_fd, name.c_str(), 0);
    return;
  }
  // O_NOFOLLOW: if it was swapped for a symlink since the fstatat, do not go in.
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    for (const auto& child : entries(fd)) remove_at(fd, child);
    ::close(fd);
  }
  ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
}

// run-HOST-PID-XXXXXX; HOST may hold '-', the PID and mkdtemp's suffix not.
bool parse_run_dir(const std::string& name, std::string* host, unsigned long* pid) {
  const std::string prefix = "run-";
  if (name.compare(0, prefix.size(), prefix) != 0 || name.size() < prefix.size() + 7) return false;
  const std::size_t suffix = name.size() - 7;
  if (name[suffix] != '-') return false;
  const std::size_t dash = name.rfind('-', suffix - 1);
  if (dash == std::string::npos || dash < prefix.size()) return false;  // run-PID-XXXXXX: before hosts were named
  const std::string digits = name.substr(dash + 1, suffix - dash - 1);
  if (!all_digits(digits) || digits.size() > 10) return false;
  *host = name.substr(prefix.size(), dash - prefix.size());
  *pid = std::stoul(digits);
  return !host->empty() && *pid > 0;
}

}  // namespace

std::string home_from_passwd(const std::string& passwd, uid_t uid) {
  std::istringstream in(passwd);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = split(line, ':');  // name:password:uid:gid:gecos:home:shell
    if (f.size() >= 6 && all_digits(f[2]) && f[2].size() <= 10 && std::stoul(f[2]) == uid) return f[5];
  }
  return "";
}

std::string default_state_dir() {
  const char* home = std::getenv("HOME");
  std::string dir = home ? home : "";
  if (dir.empty()) {
    std::ifstream in("/etc/passwd");
    std::stringstream text;
    text << in.rdbuf();
    dir = home_from_passwd(text.str(), ::getuid());
  }
  if (dir.empty())
    throw std::runtime_error("HOME is not set and /etc/passwd gives no home for uid " + std::to_string(::getuid()) +
                             ": set HOME for SSH sessions on this node, or pass --spool-dir DIR");
  return dir + "/.cache/treesync";
}

std::string host_name() {
  struct utsname u;
  std::string name = ::uname(&u) == 0 ? u.nodename : "";
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  return name.empty() ? "unknown" : name;
}

std::string run_dir_template(const std::string& state_dir, const std::string& host) {
  return state_dir + "/run-" + host + "-" + std::to_string(::getpid()) + "-XXXXXX";
}

void remove_tree(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const std::size_t slash = p.rfind('/');
  // The parent is followed like any path: only `path` itself and below are not.
  const std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
  int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  remove_at(fd, p.substr(slash == std::string::npos ? 0 : slash + 1));
  ::close(fd);
}

void remove_stale_runs(const std::string& state_dir, const std::string& host) {
  int fd = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  for (const auto& name : entries(fd)) {
    std::string owner;
    unsigned long pid = 0;
    if (parse_run_dir(name, &owner, &pid) && owner == host && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      remove_at(fd, name);
  }
  ::close(fd);
}

}  // namespace relay
