// The automatic pace of a sending host (the default when no cap is given):
// the rule that turns what its connections delivered into the pace for the
// next moment. Pure: pace.h feeds it from the host's sockets.
//
// Why pace at all: several TCP flows leaving one host each probe for more
// bandwidth on their own, and together they keep a queue standing in front
// of the host's link, hundreds of milliseconds deep on a slow link; the
// stripes the host feeds then arrive unevenly at children whose downlinks
// other parents share. Each host sending just under its link lets no queue
// stand: 256 light nodes on 4 Mbit/s links took 156 s unpaced and 127 s
// paced (bench/results/2026-12-01-files-scale-4).
//
// How: the link's rate is the most the host delivered in any 4 seconds in
// which it always had more to send than went out (receivers acknowledge up
// to 64 KiB at once, which a single second of a slow link shows as 15% more
// or less than its rate). The pace is 97% of it, after a few seconds at 75%
// to drain what the unpaced start queued; one second in ten it is raised by
// a quarter, so that a link faster than first measured is found, and the
// next lowered as much, to drain what that queued. Until a first
// measurement: no pace. The rate never goes down: a moment when the host
// delivered less (its children's downlinks crowded, a parent slow, a child
// acknowledging slowly on purpose) must not pace it down to that, and a
// link that got slower is left to TCP, as with no pace at all.
#pragma once

#include <cstdint>
#include <deque>

namespace wire {

struct PaceSample {
  double seconds = 0;           // since the last sample
  std::uint64_t delivered = 0;  // bytes the host's peers acknowledged in that time, on the wire
  bool held = false;            // some connection had bytes waiting that the kernel had not sent
};

class PaceControl {
 public:
  static constexpr double kAverage = 4.0;  // seconds a rate is measured over
  static constexpr double kGain = 0.97;
  static constexpr double kDrainGain = 0.75;
  static constexpr double kDrain = 4.0;  // seconds at kDrainGain after the first measurement
  static constexpr double kProbeGain = 1.25;
  // Seconds: one probing at kProbeGain, one draining at kDrainGain what
  // that queued, the rest cruising.
  static constexpr double kCycle = 10.0;

  // The pace for the next moment in bits per second on the wire; 0: none.
  std::uint64_t update(const PaceSample& s);
  // The link's rate (bits/s on the wire) as measured; 0: none yet.
  std::uint64_t link() const { return static_cast<std::uint64_t>(link_); }

 private:
  struct Delivered {
    double when, seconds, bytes;
    bool held;
  };
  std::uint64_t pace() const;

  double now_ = 0;       // seconds since the first sample
  double link_ = 0;
  double measured_ = 0;  // when link_ was first measured
  std::deque<Delivered> recent_;  // the samples of the last kAverage seconds
};

}  // namespace wire
