#include "relay/dest_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "src/runtime/runtime.h"
#include "src/wire/digest.h"
#include "src/wire/rel_path.h"

namespace relay {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// Removes everything in the directory open as `fd`, links as links.
void empty_dir(int fd, const std::string& shown) {
  DIR* d = ::fdopendir(::dup(fd));
  if (!d) fail("cannot list", shown);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      Fd sub(::openat(fd, name.c_str(), kDirFlags));
      if (sub) empty_dir(sub.get(), shown + "/" + name);
      if (::unlinkat(fd, name.c_str(), AT_REMOVEDIR) != 0) {
        ::closedir(d);
        fail("cannot remove", shown + "/" + name);
      }
    } else if (::unlinkat(fd, name.c_str(), 0) != 0) {
      ::closedir(d);
      fail("cannot remove", shown + "/" + name);
    }
  }
  ::closedir(d);
}

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

DestTree::DestTree(const std::string& dest, bool create) : dest_(dest) {
  if (dest.empty() || dest.front() != '/') throw std::runtime_error("--dest must be an absolute path, not '" + dest + "'");
  // The operator's own path: mkdir -p, following what is there.
  for (std::string::size_type at = 1; create; ++at) {
    at = dest.find('/', at);
    std::string prefix = dest.substr(0, at);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) fail("cannot create", prefix);
    if (at == std::string::npos) break;
  }
  fd_ = Fd(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd_ && (create || errno != ENOENT)) fail("cannot open", dest);
}

std::string DestTree::leaf(const std::string& path) { return wire::path_components(path).back(); }

Fd DestTree::open_parent(const std::string& path, bool create) const {
  wire::check_relative_path(path);
  std::vector<std::string> parts = wire::path_components(path);
  parts.pop_back();
  if (!fd_) return Fd();  // no dest yet
  Fd at(::dup(fd_.get()));
  std::string walked = dest_;
  for (const std::string& c : parts) {
    walked += "/" + c;
    int fd = ::openat(at.get(), c.c_str(), kDirFlags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(at.get(), c.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create", walked);
      fd = ::openat(at.get(), c.c_str(), kDirFlags);
    }
    if (fd < 0) {
      // ELOOP / ENOTDIR: a link or a file where the plan has a directory.
      if (!create) return Fd();
      if (errno == ELOOP || errno == ENOTDIR)
        throw std::runtime_error(walked + " is a symlink or a file, not a directory: refusing to write through it");
      fail("cannot open", walked);
    }
    at = Fd(fd);
  }
  return at;
}

bool DestTree::holds(const wire::Part& file) const {
  Fd dir = open_parent(file.path, false);
  if (!dir) return false;
  Fd f(::openat(dir.get(), leaf(file.path).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (!f || ::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const std::uint64_t mtime = st.st_mtim.tv_sec < 0 ? 0 : static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
  // Cheap checks first: a size that differs needs no hashing.
  if (static_cast<std::uint64_t>(st.st_size) != file.raw || (st.st_mode & 07777) != file.mode || mtime != file.mtime_ns)
    return false;
  wire::Sha256 hash;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(f.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    hash.update(buf.data(), static_cast<std::size_t>(n));
  }
  return hash.digest() == file.digest;
}

std::size_t DestTree::walk(int dirfd, const std::string& prefix, const std::set<std::string>& files,
                           const std::set<std::string>& dirs, bool remove) const {
  DIR* d = ::fdopendir(::dup(dirfd));
  if (!d) fail("cannot list", dest_ + "/" + prefix);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
  ::closedir(d);
  std::size_t count = 0;
  for (const std::string& name : names) {
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const bool dir = S_ISDIR(st.st_mode);
    if (dir && dirs.count(rel)) {
      Fd sub(::openat(dirfd, name.c_str(), kDirFlags));
      if (!sub) fail("cannot open", dest_ + "/" + rel);
      count += walk(sub.get(), rel, files, dirs, remove);
      continue;
    }
    if (S_ISREG(st.st_mode) && files.count(rel)) continue;
    ++count;
    if (!remove) continue;
    if (dir) {
      Fd sub(::openat(dirfd, name.c_str(), kDirFlags));
      if (!sub) fail("cannot open", dest_ + "/" + rel);
      empty_dir(sub.get(), dest_ + "/" + rel);
    }
    if (::unlinkat(dirfd, name.c_str(), dir ? AT_REMOVEDIR : 0) != 0) fail("cannot remove", dest_ + "/" + rel);
  }
  return count;
}

std::size_t DestTree::extras(const std::set<std::string>& files, const std::set<std::string>& dirs, bool remove) const {
  if (!fd_) return 0;
  return walk(fd_.get(), "", files, dirs, remove);
}

std::size_t DestTree::dirs_to_fix(const std::vector<wire::DirEntry>& dirs) const {
  std::size_t count = 0;
  for (const auto& d : dirs) {
    Fd parent = open_parent(d.path, false);
    struct stat st;
    if (!parent || ::fstatat(parent.get(), leaf(d.path).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode) || (st.st_mode & 07777) != d.mode)
      ++count;
  }
  return count;
}

void DestTree::fix_dirs(const std::vector<wire::DirEntry>& dirs) const {
  // Deepest first: a parent's mode may take away the right to enter it.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    Fd parent = open_parent(it->path, true);
    const std::string name = leaf(it->path);
    if (::mkdirat(parent.get(), name.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create", dest_ + "/" + it->path);
    Fd dir(::openat(parent.get(), name.c_str(), kDirFlags));
    if (!dir)
      throw std::runtime_error(dest_ + "/" + it->path + " is a symlink or a file, not a directory: refusing to use it");
    if (::fchmod(dir.get(), it->mode) != 0) fail("cannot set the mode of", dest_ + "/" + it->path);
  }
}

std::uint64_t DestTree::free_bytes() const {
  std::string at = dest_;
  while (!fd_ && at.size() > 1 && ::access(at.c_str(), F_OK) != 0) at = at.substr(0, std::max<std::size_t>(1, at.rfind('/')));
  return runtime::free_bytes(at);
}

wire::FilesProbed probe_dest(const wire::FilesProbe& req, const std::string& spool_dir) {
  DestTree tree(req.dest, false);
  wire::FilesProbed reply;
  std::set<std::string> files, dirs;
  for (std::size_t i = 0; i < req.files.size(); ++i) {
    if (req.files[i].kind != wire::PartKind::File) throw wire::Error("probe_files: part " + std::to_string(i) + " is not a file");
    files.insert(req.files[i].path);
    if (tree.holds(req.files[i])) reply.have.push_back(i);
  }
  for (const auto& d : req.dirs) {
    wire::check_relative_path(d.path);
    if (d.mode & ~07777u) throw wire::Error("directory " + d.path + ": mode is not permission bits");
    dirs.insert(d.path);
  }
  reply.fixes = tree.dirs_to_fix(req.dirs) + (req.mirror ? tree.extras(files, dirs, false) : 0);
  reply.dest_free = tree.free_bytes();
  reply.spool_free = runtime::free_bytes(spool_dir);
  reply.spool_on_dest = runtime::same_filesystem(spool_dir, req.dest);  // false while dest does not exist: a guess
  return reply;
}

}  // namespace relay
