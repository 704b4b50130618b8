#include "src/cache/file_manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "src/errors.h"
#include "src/wire/digest.h"

namespace treesync {
namespace fs = std::filesystem;

namespace {

std::uint64_t mtime_ns(const struct stat& st) {
  return static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000 + static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
}

std::string hash_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw UsageError("cannot read " + path + ": " + std::strerror(errno));
  wire::Sha256 hash;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw UsageError("cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    hash.update(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return hash.digest();
}

void add(FileManifest& m, const std::string& source, const std::string& rel) {
  struct stat st;
  if (::lstat(source.c_str(), &st) != 0)
    throw UsageError("--files: " + printable(source) + ": " + std::strerror(errno));
  if (S_ISLNK(st.st_mode))
    throw UsageError("--files: " + printable(source) +
                     " is a symlink; treesync does not carry links: name its target, or move the link out of the tree");
  if (S_ISDIR(st.st_mode)) {
    m.dirs.push_back({rel, static_cast<std::uint32_t>(st.st_mode & 07777)});
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(source)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) add(m, source + "/" + name, rel + "/" + name);
    return;
  }
  if (!S_ISREG(st.st_mode))
    throw UsageError("--files: " + printable(source) + " is not a regular file or directory (a device, socket or pipe)");
  if (st.st_mtim.tv_sec < 0)
    throw UsageError("--files: " + printable(source) + " has an mtime before 1970, which treesync does not carry; touch it");
  wire::Part p;
  p.kind = wire::PartKind::File;
  p.digest = hash_file(source);
  p.size = p.raw = static_cast<std::uint64_t>(st.st_size);
  p.path = rel;
  p.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
  p.mtime_ns = mtime_ns(st);
  m.files.push_back(p);
  m.sources.push_back(source);
}

}  // namespace

FileManifest build_manifest(const std::vector<std::string>& paths) {
  FileManifest m;
  std::set<std::string> names;
  for (std::string path : paths) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const std::string name = fs::path(path).filename().string();
    if (name.empty() || name == "." || name == ".." || name == "/")
      throw UsageError("--files " + printable(path) + ": name a file or directory by its own name (not /, . or ..)");
    if (!names.insert(name).second)
      throw UsageError("--files: two paths are named " + printable(name) + " and would both land at DEST/" +
                       printable(name) + "; rename one or sync them in two runs");
    add(m, path, name);
  }
  return m;
}

PreparedBundle files_bundle(const FileManifest& manifest) {
  PreparedBundle prepared;
  prepared.bundle.parts = manifest.files;
  for (const auto& f : manifest.files) prepared.bundle.layer.push_back(f.path);  // each file is a unit a node may lack
  prepared.files = manifest.sources;
  prepared.how = "files read in place, hashed on this host";
  prepared.compression = "files travel uncompressed";
  return prepared;
}

PartList lacking_files(std::size_t count, const std::vector<std::size_t>& have, bool force) {
  const std::set<std::size_t> held(have.begin(), have.end());
  PartList out;
  for (std::size_t i = 0; i < count; ++i)
    if (force || !held.count(i)) out.push_back(i);
  return out;
}

}  // namespace treesync
