// A host's upload cap (--limit-rate, --source-limit, the inventory's
// `limit:`): one token bucket shared by every sender of that host, so the
// host's total stays under the cap however many children it feeds.
//
// The cap is the rate on the wire, as the host's interface counters show
// it: senders charge each frame's bytes plus the TCP/IP/Ethernet headers
// its segments carry (wire_bytes), not the stream bytes alone, or the
// interface would show about 5% above the cap.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace wire {

// Bytes a host's interface sends for `frame_bytes` of TCP payload at MTU
// 1500: a full segment carries 1448 bytes (TCP with timestamps) in a 1514-byte
// Ethernet frame.
std::uint64_t wire_bytes(std::uint64_t frame_bytes);
// The reverse: stream bytes per second that a cap of `bits_per_second` on
// the wire leaves, for predictions (chunk headers are a rounding error).
double payload_rate(std::uint64_t bits_per_second);

class RateLimiter {
 public:
  explicit RateLimiter(std::uint64_t bits_per_second);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Waits until `wire` more bytes fit under the cap, then counts them as
  // sent; returns false (counting nothing more) once `cancelled` is set.
  // Callers take a slice at a time (kSlice), so the host never sends more
  // than a slice (and what an idle bucket saved) ahead of the cap.
  bool take(std::uint64_t wire, const std::atomic<bool>& cancelled);
  std::uint64_t bits_per_second() const { return bps_; }

  // What a sender writes between two takes.
  static constexpr std::size_t kSlice = 64 * 1024;

 private:
  using Clock = std::chrono::steady_clock;
  const std::uint64_t bps_;
  const Clock::duration burst_;  // how far an idle bucket may run ahead
  std::mutex mu_;
  Clock::time_point next_;  // when the bytes taken so far have all passed at the cap
};

}  // namespace wire
