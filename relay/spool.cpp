#include "relay/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace relay {

Spool::Spool(std::string path, std::uint64_t size) : path_(std::move(path)), size_(size) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot create spool " + path_ + ": " + std::strerror(errno));
}

Spool::~Spool() {
  abort("spool closed");
  ::close(fd_);
  ::unlink(path_.c_str());
}

void Spool::append(std::string_view bytes) {
  std::uint64_t at = written();
  if (at + bytes.size() > size_) throw std::runtime_error("chunk runs past the end of the archive");
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(at + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write spool " + path_ + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  std::lock_guard<std::mutex> lock(mu_);
  written_ += bytes.size();
  grew_.notify_all();
}

std::size_t Spool::read(std::uint64_t offset, char* buf, std::size_t n) {
  std::uint64_t available;
  {
    std::unique_lock<std::mutex> lock(mu_);
    grew_.wait(lock, [&] { return !aborted_.empty() || written_ > offset || offset >= size_; });
    if (!aborted_.empty()) throw std::runtime_error(aborted_);
    available = written_;
  }
  if (offset >= size_) return 0;
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, available - offset));
  for (;;) {
    ssize_t got = ::pread(fd_, buf, want, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<std::size_t>(got);
    if (errno != EINTR) throw std::runtime_error("cannot read spool " + path_ + ": " + std::strerror(errno));
  }
}

void Spool::abort(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (aborted_.empty()) aborted_ = why;
  grew_.notify_all();
}

void Spool::rewind(std::uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  written_ = std::min(written_, offset);
}

std::uint64_t Spool::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

}  // namespace relay
