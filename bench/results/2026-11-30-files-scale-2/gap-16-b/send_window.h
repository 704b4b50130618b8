// Keeps what a sender has written but its receiver has not yet acknowledged
// small: about twice what the path holds, and never less than kMinWindow.
//
// Why: every flow of a striped tree is booked at its fair share of the
// links it crosses, and the run waits for the slowest stripe. A flow with
// megabytes queued in its socket buffer and the network takes more than its
// share of a busy link for tens of seconds (measured in the lab with BBR:
// four stripes from one host at 260 to 1,400 kbit/s each), and the stripe
// that falls behind never catches up. Flows that each keep only a small
// window outstanding share a queue in proportion to their windows, which are
// alike, so the links split evenly; a flow whose path is free still grows
// its window with its rate and so is not held back.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace wire {

// What a path of `rate` bytes/s with a shortest round trip of `min_rtt_us`
// may have outstanding: twice its rate times the round trip plus one of the
// sender's waits (kWaitUs), at least kMinWindow.
std::uint64_t send_window(std::uint64_t rate, std::uint32_t min_rtt_us);
constexpr std::uint64_t kMinWindow = 128 * 1024;
constexpr std::uint32_t kWaitUs = 2000;

// A TCP socket's send queue and what its path has shown; nullopt for a
// socket the kernel gives no such numbers for (not TCP, a kernel older than
// 4.10).
struct PathState {
  std::uint64_t outstanding = 0;  // written, not yet acknowledged
  std::uint64_t rate = 0;         // bytes/s, the kernel's latest delivery sample
  std::uint32_t min_rtt_us = 0;
};
std::optional<PathState> path_state(int fd);

// How much of `want` to write now on a path in state p; 0: wait. Room
// below a quarter of the window waits too: fewer, larger writes.
std::size_t window_room(const PathState& p, std::size_t want);

// Waits until the TCP socket fd has room under its window for a useful part
// of `want` bytes; returns how many to write now (at most `want`), or 0 once
// `cancelled` is set. A socket without path_state is not held back.
std::size_t wait_for_window(int fd, std::size_t want, const std::atomic<bool>& cancelled);

}  // namespace wire
