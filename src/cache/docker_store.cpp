#include "src/cache/docker_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <utility>
#include <string_view>

#include "src/cache/blob_decoder.h"
#include "src/wire/base64.h"
#include "src/wire/digest.h"
#include "src/wire/protocol.h"

namespace treesync {
namespace {

// Configs are small (the layer cache takes at most this much JSON too).
constexpr std::size_t kConfigMax = 16 << 20;
constexpr std::size_t kChunk = 1 << 20;

std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

bool is_digest(const std::string& s) {
  if (s.size() != 71 || s.compare(0, 7, "sha256:") != 0) return false;
  return s.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

StoreMiss miss(const std::string& path, const std::string& what) { return StoreMiss(path + ": " + what); }

// A file descriptor closed with its owner.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
};

// A small file of the store, whole ("diff", "cache-id", a config).
std::string read_small(const std::string& path, std::size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw miss(path, std::strerror(errno));
  std::string out;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max) throw miss(path, "larger than " + std::to_string(max) + " bytes");
  }
  if (in.bad()) throw miss(path, std::strerror(errno));
  return out;
}

std::string trimmed(std::string s) {
  const auto end = s.find_last_not_of(" \t\r\n");
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s.substr(std::min(s.size(), s.find_first_not_of(" \t\r\n")));
}

// Opens `name` (relative to the folder `dir`) for reading, one component
// at a time, each with O_NOFOLLOW: a symlink anywhere in the name, or a
// "..", is refused, so nothing outside `dir` can be read.
Fd open_beneath(int dir, const std::string& name, const std::string& shown) {
  if (name.find('\0') != std::string::npos) throw miss(shown, "a NUL in the name");
  Fd cur(::dup(dir));
  if (cur.fd < 0) throw miss(shown, std::strerror(errno));
  std::size_t at = 0;
  std::string last;
  bool any = false;
  while (at <= name.size()) {
    std::size_t slash = name.find('/', at);
    if (slash == std::string::npos) slash = name.size();
    const std::string part = name.substr(at, slash - at);
    at = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") throw miss(shown, "the name goes up (..)");
    if (any) {  // the previous component is a folder on the way
      Fd next(::openat(cur.fd, last.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next.fd < 0)
        throw miss(shown, errno == ELOOP || errno == ENOTDIR ? "a component is a symlink or not a folder"
                                                             : std::strerror(errno));
      cur = std::move(next);
    }
    last = part;
    any = true;
  }
  if (!any) throw miss(shown, "an empty name");
  Fd f(::openat(cur.fd, last.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (f.fd < 0) throw miss(shown, errno == ELOOP ? "a symlink" : std::strerror(errno));
  return f;
}

// The content of one file entry: exactly `size` bytes of a regular file
// of that size.
void copy_file(int dir, const std::string& name, std::uint64_t size, const std::string& shown, const ByteSink& out) {
  Fd f = open_beneath(dir, name, shown);
  struct stat st;
  if (::fstat(f.fd, &st) != 0) throw miss(shown, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw miss(shown, "not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) != size)
    throw miss(shown, std::to_string(st.st_size) + " bytes, the layer's tar-split says " + std::to_string(size));
  std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(size, kChunk)), '\0');
  std::uint64_t left = size;
  while (left > 0) {
    const ssize_t n = ::read(f.fd, buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw miss(shown, std::strerror(errno));
    if (n == 0) throw miss(shown, "shorter than " + std::to_string(size) + " bytes");
    out(buf.data(), static_cast<std::size_t>(n));
    left -= static_cast<std::uint64_t>(n);
  }
}

// One line of tar-split metadata: a segment to emit, or a file to copy.
class EntryReader {
 public:
  EntryReader(int dir, std::string what, const ByteSink& out) : dir_(dir), what_(std::move(what)), out_(out) {}

  void line(std::string_view text) {
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) return;
    ++entries_;
    const wire::Json e = wire::Json::parse(text.begin(), text.end(), nullptr, false);
    if (e.is_discarded() || !e.is_object()) throw bad("not a JSON object");
    const wire::Json type = e.value("type", wire::Json());
    if (type == 2) {
      const wire::Json& p = e.value("payload", wire::Json());
      std::optional<std::string> bytes = p.is_string() ? wire::base64_decode(p.get<std::string>()) : std::nullopt;
      if (!bytes) throw bad("a segment without a base64 payload");
      out_(bytes->data(), bytes->size());
    } else if (type == 1) {
      const std::string name = name_of(e);
      const wire::Json size = e.value("size", wire::Json(0));  // omitted when 0
      if (!size.is_number_integer() || size.get<std::int64_t>() < 0) throw bad("a file entry with no size");
      // tar-split refuses the same (cleaned) path twice.
      if (!seen_.insert(clean(name)).second) throw bad("file " + name + " appears twice");
      const auto n = size.get<std::uint64_t>();
      if (n > 0) copy_file(dir_, name, n, what_ + ": file " + name, out_);
    } else {
      throw bad("an entry of type " + type.dump());
    }
  }
  std::size_t entries() const { return entries_; }

 private:
  StoreMiss bad(const std::string& why) const {
    return StoreMiss(what_ + ": entry " + std::to_string(entries_) + ": " + why);
  }
  std::string name_of(const wire::Json& e) const {
    const wire::Json& raw = e.value("name_raw", wire::Json());
    if (raw.is_string() && !raw.get<std::string>().empty()) {
      std::optional<std::string> name = wire::base64_decode(raw.get<std::string>());
      if (!name) throw bad("a name_raw that is not base64");
      return *name;
    }
    const wire::Json& name = e.value("name", wire::Json());
    if (!name.is_string() || name.get<std::string>().empty()) throw bad("a file entry with no name");
    return name.get<std::string>();
  }
  static std::string clean(const std::string& name) {
    std::string out;
    std::size_t at = 0;
    while (at <= name.size()) {
      std::size_t slash = name.find('/', at);
      if (slash == std::string::npos) slash = name.size();
      const std::string part = name.substr(at, slash - at);
      if (!part.empty() && part != ".") out += "/" + part;
      at = slash + 1;
    }
    return out;
  }

  int dir_;
  std::string what_;
  const ByteSink& out_;
  std::set<std::string> seen_;
  std::size_t entries_ = 0;
};

}  // namespace

void assemble_tar_split(const std::string& tar_split_gz, const std::string& files_dir, const ByteSink& out) {
  Fd dir(::open(files_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.fd < 0) throw miss(files_dir, std::strerror(errno));
  std::ifstream in(tar_split_gz, std::ios::binary);
  if (!in) throw miss(tar_split_gz, std::strerror(errno));
  BlobDecoder gzip(BlobCodec::Gzip, tar_split_gz);
  EntryReader entries(dir.fd, tar_split_gz, out);
  // Lines are taken once gzip has handed them over, so that what `out`
  // throws (a cache write) is never taken for a damaged gzip stream.
  std::string pending;
  auto take_lines = [&] {
    std::size_t from = 0, nl;
    while ((nl = pending.find('\n', from)) != std::string::npos) {
      entries.line(std::string_view(pending).substr(from, nl - from));
      from = nl + 1;
    }
    pending.erase(0, from);
  };
  // Small reads: tar-split's runs of zero padding inflate about a
  // thousandfold, and what one read yields is held until its lines are taken.
  std::string buf(16 << 10, '\0');
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    try {
      gzip.feed(buf.data(), static_cast<std::size_t>(in.gcount()),
                [&](const char* d, std::size_t n) { pending.append(d, n); });
    } catch (const std::runtime_error& e) {
      throw StoreMiss(e.what());
    }
    take_lines();
  }
  if (in.bad()) throw miss(tar_split_gz, std::strerror(errno));
  try {
    gzip.finish();
  } catch (const std::runtime_error& e) {
    throw StoreMiss(e.what());
  }
  entries.line(pending);  // a last entry without its newline
  if (entries.entries() == 0) throw miss(tar_split_gz, "no entries");
}

DockerStore::DockerStore(std::string root, std::string driver) : root_(std::move(root)), driver_(std::move(driver)) {
  if (root_.empty()) throw StoreMiss("docker info named no DockerRootDir");
  if (driver_ != "overlay2") throw StoreMiss("storage driver " + driver_ + ": only overlay2's layers are read");
  const std::string db = root_ + "/image/" + driver_ + "/layerdb";
  if (::access(db.c_str(), R_OK | X_OK) != 0)
    throw miss(db, std::string(std::strerror(errno)) + (errno == EACCES ? " (treesync is not run as root)" : ""));
}

std::string DockerStore::config(const std::string& id) const {
  if (!is_digest(id)) throw StoreMiss("not an image ID: " + id);
  const std::string path = root_ + "/image/" + driver_ + "/imagedb/content/sha256/" + hex_of(id);
  std::string bytes = read_small(path, kConfigMax);
  const std::string actual = wire::sha256_digest(bytes);
  if (actual != id) throw miss(path, "its SHA-256 is " + actual);
  return bytes;
}

// Docker 20.10's overlay2 reads a layer's files through a mount of the
// layer (moby layer/layer_store.go: no DiffGetter, so naiveDiffPathDriver
// mounts it); every file a layer's tar holds with content was written into
// that layer's own diff/ when Docker applied it, so it reads the same from
// there, without a mount. The SHA-256 the caller checks says if not.
void DockerStore::layer(const std::string& chain, const std::string& diff, const ByteSink& out) const {
  if (!is_digest(chain) || !is_digest(diff)) throw StoreMiss("not a layer digest: " + chain + ", " + diff);
  const std::string dir = root_ + "/image/" + driver_ + "/layerdb/sha256/" + hex_of(chain);
  const std::string recorded = trimmed(read_small(dir + "/diff", 4096));
  if (recorded != diff) throw miss(dir + "/diff", "names " + recorded + ", not " + diff);
  const std::string cache_id = trimmed(read_small(dir + "/cache-id", 4096));
  if (cache_id.empty() || cache_id.find_first_not_of("0123456789abcdefABCDEF-_") != std::string::npos)
    throw miss(dir + "/cache-id", "an unexpected cache ID '" + cache_id + "'");
  assemble_tar_split(dir + "/tar-split.json.gz", root_ + "/" + driver_ + "/" + cache_id + "/diff", out);
}

}  // namespace treesync
