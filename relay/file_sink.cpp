#include "relay/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "src/wire/digest.h"

namespace relay {

FileSink::FileSink(wire::FilesProbe target) : target_(std::move(target)), tree_(target_.dest, true) {}

FileSink::~FileSink() { discard(); }

void FileSink::begin(std::size_t index, const wire::Part& file) {
  discard();
  dir_ = tree_.open_parent(file.path, true);
  // Hidden, random, and never an existing name: nothing planted is reused.
  temp_name_ = ".treesync-tmp-" + wire::random_hex(8);
  temp_ = Fd(::openat(dir_.get(), temp_name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!temp_) {
    temp_name_.clear();
    throw std::runtime_error("cannot create a temp file for " + tree_.path() + "/" + file.path + ": " +
                             std::strerror(errno));
  }
  current_ = file;
  current_index_ = index;
}

void FileSink::write(const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(temp_.get(), data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0)
      throw std::runtime_error("cannot write " + tree_.path() + "/" + current_.path + ": " + std::strerror(errno));
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

void FileSink::commit() {
  const std::string shown = tree_.path() + "/" + current_.path;
  timespec times[2];
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = static_cast<time_t>(current_.mtime_ns / 1000000000);
  times[1].tv_nsec = static_cast<long>(current_.mtime_ns % 1000000000);
  // On disk before the name moves: a crash leaves the old file, not an empty new one.
  if (::fsync(temp_.get()) != 0 || ::fchmod(temp_.get(), current_.mode) != 0 || ::futimens(temp_.get(), times) != 0)
    throw std::runtime_error("cannot finish " + shown + ": " + std::strerror(errno));
  // renameat replaces a link planted at the name, never what it points to.
  if (::renameat(dir_.get(), temp_name_.c_str(), dir_.get(), DestTree::leaf(current_.path).c_str()) != 0)
    throw std::runtime_error("cannot move " + shown + " into place: " + std::strerror(errno));
  temp_name_.clear();
  temp_ = Fd();
  committed_.insert(current_index_);
  written_.push_back(current_.digest);
}

void FileSink::discard() {
  if (!temp_name_.empty() && dir_) ::unlinkat(dir_.get(), temp_name_.c_str(), 0);
  temp_name_.clear();
  temp_ = Fd();
}

void FileSink::prepare() {
  if (!target_.mirror) return;
  std::set<std::string> files, dirs;
  for (const auto& f : target_.files) files.insert(f.path);
  for (const auto& d : target_.dirs) dirs.insert(d.path);
  tree_.extras(files, dirs, true);
}

std::vector<std::string> FileSink::finish() {
  tree_.fix_dirs(target_.dirs);
  return written_;
}

}  // namespace relay
