// A sending host's automatic pace: every quarter second it reads what the
// host's data connections did (TCP_INFO: bytes acknowledged, bytes not yet
// sent), hands that to PaceControl and shares the answer out among the
// connections as the kernel's own pacing rate (SO_MAX_PACING_RATE). The
// kernel, not the sender's writes, must do it: a connection's send buffer
// holds seconds of a slow link's data, which a pace on the writes would
// reach only once it had drained.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "src/wire/pace_control.h"

namespace wire {

class Pace {
 public:
  Pace();
  ~Pace();
  Pace(const Pace&) = delete;
  Pace& operator=(const Pace&) = delete;

  // A connection the host streams on, from now until forget(fd), which
  // must come before the descriptor is closed.
  void watch(int fd);
  void forget(int fd);
  // The link's rate as measured (bits/s on the wire); 0: none yet.
  std::uint64_t link() const;

  static constexpr std::chrono::milliseconds kPeriod{250};

 private:
  void run();
  PaceSample sample(double seconds);
  void share(std::uint64_t bits_per_second);
  void set(int fd, double bytes_per_second);

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  struct Watched {
    std::uint64_t acked = 0;  // bytes acknowledged at the last sample
    std::uint64_t moved = 0;  // in the last sample's time
    bool wants = false;       // had bytes waiting that the kernel had not sent
  };
  std::map<int, Watched> watched_;  // by descriptor
  double seconds_ = 0;              // the last sample's time
  PaceControl control_;
  std::uint64_t rate_ = 0;  // the pace, bits/s on the wire; 0: none
  std::thread thread_;
};

// Watches a sender's connection for the time it streams on it.
class PaceWatch {
 public:
  PaceWatch(Pace* pace, int fd) : pace_(pace), fd_(fd) {
    if (pace_) pace_->watch(fd_);
  }
  ~PaceWatch() {
    if (pace_) pace_->forget(fd_);
  }
  PaceWatch(const PaceWatch&) = delete;
  PaceWatch& operator=(const PaceWatch&) = delete;

 private:
  Pace* pace_;
  int fd_;
};

}  // namespace wire
