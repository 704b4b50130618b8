#include "src/wire/rate_limiter.h"

#include <algorithm>
#include <thread>

namespace wire {
namespace {

constexpr std::uint64_t kSegmentPayload = 1448;  // MTU 1500 - IP 20 - TCP 20 - timestamps 12
constexpr std::uint64_t kSegmentFrame = 1514;    // + Ethernet 14, as interface counters count it
// Sleeping in slices keeps cancel() prompt whatever the cap.
constexpr auto kMaxSleep = std::chrono::milliseconds(50);

}  // namespace

std::uint64_t wire_bytes(std::uint64_t frame_bytes) {
  return (frame_bytes * kSegmentFrame + kSegmentPayload - 1) / kSegmentPayload;
}

double payload_rate(std::uint64_t bits_per_second) {
  return static_cast<double>(bits_per_second) / 8.0 * kSegmentPayload / kSegmentFrame;
}

// The bucket is kept as the time its debt is paid off (next_): a take waits
// until then, and pushes it on by the bytes' time at the cap. An idle bucket
// saves up at most one slice's time (and at least 5 ms): a larger burst would
// show as a peak above the cap in any 1 s window of the interface counters.
RateLimiter::RateLimiter(std::uint64_t bits_per_second)
    : bps_(std::max<std::uint64_t>(bits_per_second, 1)),
      burst_(std::max<Clock::duration>(std::chrono::milliseconds(5),
                                       std::chrono::nanoseconds(RateLimiter::kSlice * 8 * 1000000000ull / bps_))),
      next_(Clock::now()) {}

bool RateLimiter::take(std::uint64_t wire, const std::atomic<bool>& cancelled) {
  Clock::time_point start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = Clock::now();
    next_ = std::max(next_, now - burst_);
    start = next_;
    next_ += std::chrono::nanoseconds(static_cast<std::uint64_t>(static_cast<double>(wire) * 8e9 / static_cast<double>(bps_)));
  }
  // Waits out the bytes taken before ours (by this sender or another of the host).
  for (auto now = Clock::now(); now < start; now = Clock::now()) {
    if (cancelled) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(start - now, kMaxSleep));
  }
  return !cancelled;
}

}  // namespace wire
