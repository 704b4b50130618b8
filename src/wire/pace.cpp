#include "src/wire/pace.h"

#include <linux/tcp.h>  // glibc's tcp_info lacks tcpi_bytes_acked and tcpi_notsent_bytes
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <limits>

#include "src/wire/rate_limiter.h"

namespace wire {
namespace {

bool tcp_info_of(int fd, tcp_info* info) {
  socklen_t len = sizeof *info;
  *info = tcp_info{};
  return getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len) == 0;
}

}  // namespace

Pace::Pace() : thread_([this] { run(); }) {}

Pace::~Pace() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Pace::watch(int fd) {
  tcp_info info;
  // Not TCP (an SSH tunnel's socket pair): nothing to learn from it or pace.
  if (!tcp_info_of(fd, &info)) return;
  std::lock_guard<std::mutex> lock(mu_);
  watched_[fd] = Watched{info.tcpi_bytes_acked};
  if (rate_) share(rate_);
}

void Pace::forget(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  watched_.erase(fd);
}

std::uint64_t Pace::link() const {
  std::lock_guard<std::mutex> lock(mu_);
  return control_.link();
}

void Pace::run() {
  std::unique_lock<std::mutex> lock(mu_);
  auto last = std::chrono::steady_clock::now();
  while (!wake_.wait_for(lock, kPeriod, [this] { return stop_; })) {
    const auto now = std::chrono::steady_clock::now();
    const PaceSample s = sample(std::chrono::duration<double>(now - last).count());
    last = now;
    rate_ = control_.update(s);
    if (rate_) share(rate_);
  }
}

// Called with mu_ held: forget() waits for it, so no descriptor is read after its close.
PaceSample Pace::sample(double seconds) {
  PaceSample s;
  s.seconds = seconds_ = seconds;
  std::uint64_t acked = 0;
  for (auto& [fd, w] : watched_) {
    tcp_info info;
    if (!tcp_info_of(fd, &info)) continue;
    w.wants = info.tcpi_notsent_bytes > 0;
    s.held = s.held || w.wants;
    w.moved = info.tcpi_bytes_acked > w.acked ? info.tcpi_bytes_acked - w.acked : 0;
    w.acked = info.tcpi_bytes_acked;
    acked += w.moved;
  }
  s.delivered = wire_bytes(acked);
  return s;
}

// The connections that have more to send share what the others (waiting
// for data, or for a slow reader) leave of the pace, equally: a host's
// connections mostly carry one stripe to its children, at one rate. The
// others may send up to the whole pace; they rarely want it, and the next
// sample shares it out again if they do.
void Pace::share(std::uint64_t bits_per_second) {
  const double pace = payload_rate(bits_per_second);
  double others = 0;
  std::size_t wanting = 0;
  for (const auto& [fd, w] : watched_) {
    if (w.wants)
      ++wanting;
    else if (seconds_ > 0)
      others += static_cast<double>(w.moved) / seconds_;
  }
  const double part = wanting ? std::max(pace - others, pace / 4) / static_cast<double>(wanting) : pace;
  for (const auto& [fd, w] : watched_) set(fd, w.wants ? part : pace);
}

void Pace::set(int fd, double bytes_per_second) {
  // The kernel takes bytes per second in 32 bits; ~0U is no pace at all.
  const auto rate = static_cast<unsigned>(
      std::min(bytes_per_second, static_cast<double>(std::numeric_limits<unsigned>::max() - 1)));
  setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof rate);
}

}  // namespace wire
