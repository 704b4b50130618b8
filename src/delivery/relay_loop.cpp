#include "src/delivery/relay_loop.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

namespace treesync {
namespace {

using Clock = std::chrono::steady_clock;

// Posts another thread queued for one of ours wait at most this long; so
// does an item's noticing that the run around it is done.
constexpr int kTurnMs = 100;
constexpr auto kTick = std::chrono::seconds(1);

void serve_slice(const std::vector<RemoteRelay*>& relays, std::vector<std::size_t> items, const RelayStep& step) {
  std::vector<Clock::time_point> ticked(relays.size(), Clock::now() - kTick);
  std::vector<pollfd> fds;
  while (!items.empty()) {
    fds.clear();
    for (std::size_t i : items) fds.push_back({relays[i] ? relays[i]->socket_fd() : -1, POLLIN, 0});
    if (poll(fds.data(), fds.size(), kTurnMs) < 0 && errno != EINTR)
      spdlog::warn("control plane: poll failed: {}", std::strerror(errno));
    const auto now = Clock::now();
    std::vector<std::size_t> next;
    for (std::size_t k = 0; k < items.size(); ++k) {
      const std::size_t i = items[k];
      RelayTurn turn;
      // POLLHUP and POLLERR too: the step's read finds what ended.
      turn.ready = fds[k].revents != 0 || (relays[i] && relays[i]->has_posts());
      turn.tick = now - ticked[i] >= kTick;
      if (turn.tick) ticked[i] = now;
      bool more = false;
      try {
        more = step(i, turn);
      } catch (const std::exception& e) {
        spdlog::error("control plane: a relay's turn failed: {}", e.what());
      }
      if (more) next.push_back(i);
    }
    items.swap(next);
  }
}

}  // namespace

void serve_relays(const std::vector<RemoteRelay*>& relays, std::size_t threads, const RelayStep& step) {
  threads = std::max<std::size_t>(1, std::min(threads, relays.size()));
  // Dealt round-robin: neighbours in the plan (a parent and its children
  // are often adjacent) land on different threads.
  std::vector<std::vector<std::size_t>> slices(threads);
  for (std::size_t i = 0; i < relays.size(); ++i) slices[i % threads].push_back(i);
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(serve_slice, std::cref(relays), std::move(slices[t]), std::cref(step));
  if (!relays.empty()) serve_slice(relays, std::move(slices[0]), step);
  for (auto& t : pool) t.join();
}

}  // namespace treesync
