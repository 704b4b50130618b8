#include "relay/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace relay {
namespace {

std::string mib(std::uint64_t n) { return std::to_string(n >> 20) + " MiB"; }

}  // namespace

Spool::Spool(std::string path, std::uint64_t size, std::uint64_t window, std::chrono::milliseconds patience)
    : path_(std::move(path)), size_(size), capacity_(window == 0 ? size : std::min(size, window)), patience_(patience) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot create spool " + path_ + ": " + std::strerror(errno));
}

Spool::~Spool() {
  abort("spool closed");
  ::close(fd_);
  ::unlink(path_.c_str());
}

Spool::ReaderId Spool::add_reader(bool evictable) {
  std::lock_guard<std::mutex> lock(mu_);
  Reader& r = readers_[next_reader_];
  r.at = oldest_;
  r.evictable = evictable;
  return next_reader_++;
}

void Spool::remove_reader(ReaderId id) {
  std::lock_guard<std::mutex> lock(mu_);
  readers_.erase(id);
  changed_.notify_all();
}

bool Spool::fits(std::size_t n) const {
  return std::none_of(readers_.begin(), readers_.end(), [&](const auto& r) { return in_way(r.second, n); });
}

// A reader paced by its own link keeps the writer a window ahead of it: it
// sits in the last quarter of the window for as long as it lags.
void Spool::note_lag(Reader& r, Clock::time_point now) {
  const bool far = written_ - std::min(written_, r.at) >= capacity_ - capacity_ / 4;
  if (!far)
    r.far_since.reset();
  else if (!r.far_since)
    r.far_since = now;
}

Spool::Clock::time_point Spool::evict_slow(std::size_t n, Clock::time_point now) {
  auto next = Clock::time_point::max();
  for (auto& [id, r] : readers_) {
    if (!r.evictable || !in_way(r, n) || !r.far_since) continue;
    if (now - *r.far_since >= patience_)
      r.evicted = true;
    else
      next = std::min(next, *r.far_since + patience_);
  }
  changed_.notify_all();
  return next;
}

bool Spool::wait_for_room(std::size_t n, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (!aborted_.empty()) return false;
    if (fits(n)) return true;
    const auto now = Clock::now();
    const auto next = evict_slow(n, now);
    if (fits(n)) continue;
    if (now >= deadline) return false;
    changed_.wait_until(lock, std::min(deadline, next));
  }
}

void Spool::append(std::string_view bytes) {
  std::uint64_t at;
  {
    std::lock_guard<std::mutex> lock(mu_);
    at = written_;
    if (at + bytes.size() > size_) throw std::runtime_error("chunk runs past the end of the archive");
    if (bytes.size() > capacity_) throw std::runtime_error("chunk is larger than the spool window");
    // A child that arrived, or went back, after wait_for_room made room is
    // given up on (the source feeds it from elsewhere), not a reason to fail
    // this node; only the load may refuse the bytes.
    for (auto& [id, r] : readers_) {
      if (!in_way(r, bytes.size())) continue;
      if (!r.evictable)
        throw std::runtime_error("chunk at offset " + std::to_string(at) + " does not fit the spool window");
      r.evicted = true;
    }
    // The bytes this append overwrites are gone from now on: a reader that
    // copies them meanwhile must not trust its copy.
    if (at + bytes.size() > capacity_) oldest_ = std::max(oldest_, at + bytes.size() - capacity_);
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::uint64_t slot = (at + done) % capacity_;
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size() - done, capacity_ - slot));
    ssize_t n = ::pwrite(fd_, bytes.data() + done, len, static_cast<off_t>(slot));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write spool " + path_ + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  std::lock_guard<std::mutex> lock(mu_);
  written_ += bytes.size();
  const auto now = Clock::now();
  for (auto& [id, r] : readers_) note_lag(r, now);
  changed_.notify_all();
}

void Spool::check_held(std::uint64_t offset, ReaderId who) const {
  auto it = readers_.find(who);
  const bool given_up = it != readers_.end() && it->second.evicted;
  if (offset < oldest_ || given_up)
    throw Evicted("byte " + std::to_string(offset) + " has left this node's spool window (" + mib(capacity_) +
                  ", the stream is at byte " + std::to_string(written_) + ")");
}

std::size_t Spool::read(std::uint64_t offset, char* buf, std::size_t n, ReaderId who) {
  std::uint64_t available;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto me = readers_.find(who);
    if (me != readers_.end() && !me->second.evicted) {
      me->second.at = offset;
      changed_.notify_all();
    }
    changed_.wait(lock, [&] {
      return !aborted_.empty() || written_ > offset || offset >= size_ || offset < oldest_ ||
             (me != readers_.end() && me->second.evicted);
    });
    if (!aborted_.empty()) throw std::runtime_error(aborted_);
    if (offset >= size_) return 0;
    check_held(offset, who);
    available = written_;
  }
  const std::uint64_t slot = offset % capacity_;
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>({n, available - offset, capacity_ - slot}));
  ssize_t got;
  do got = ::pread(fd_, buf, want, static_cast<off_t>(slot));
  while (got < 0 && errno == EINTR);
  if (got < 0) throw std::runtime_error("cannot read spool " + path_ + ": " + std::strerror(errno));
  std::lock_guard<std::mutex> lock(mu_);
  check_held(offset, who);  // an append may have overwritten what we copied
  auto me = readers_.find(who);
  if (me != readers_.end()) {
    me->second.at = offset + static_cast<std::uint64_t>(got);
    note_lag(me->second, Clock::now());
  }
  changed_.notify_all();
  return static_cast<std::size_t>(got);
}

void Spool::abort(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (aborted_.empty()) aborted_ = why;
  changed_.notify_all();
}

// Bytes from offset on come again; of those before it, the file still holds
// only what no append has overwritten since. The load starts over and
// reads again from the oldest byte held (children go on where they are).
void Spool::rewind(std::uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (offset >= written_) return;
  written_ = offset;
  oldest_ = std::min(oldest_, offset);
  for (auto& [id, r] : readers_)
    if (!r.evictable) r.at = std::min(r.at, oldest_);
  changed_.notify_all();
}

std::uint64_t Spool::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

std::uint64_t Spool::oldest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return oldest_;
}

}  // namespace relay
