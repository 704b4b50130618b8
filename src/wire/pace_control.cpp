#include "src/wire/pace_control.h"

#include <algorithm>
#include <cmath>

namespace wire {

std::uint64_t PaceControl::update(const PaceSample& s) {
  if (s.seconds <= 0) return pace();
  now_ += s.seconds;
  recent_.push_back({now_, s.seconds, static_cast<double>(s.delivered), s.held});
  while (recent_.front().when <= now_ - kAverage) recent_.pop_front();
  if (now_ >= kAverage && std::all_of(recent_.begin(), recent_.end(), [](const Delivered& d) { return d.held; })) {
    // Over the samples' own time: a sample late by seconds (a busy CPU)
    // covers all of them.
    double bytes = 0, seconds = 0;
    for (const Delivered& d : recent_) {
      bytes += d.bytes;
      seconds += d.seconds;
    }
    if (link_ == 0) measured_ = now_;
    link_ = std::max(link_, bytes * 8 / seconds);
  }
  return pace();
}

std::uint64_t PaceControl::pace() const {
  if (link_ == 0) return 0;
  const double since = now_ - measured_;
  const double second = since < kDrain ? -1 : std::fmod(since - kDrain, kCycle);
  const double gain = second < 0 || (second >= kCycle - 1) ? kDrainGain
                      : second >= kCycle - 2                ? kProbeGain * kGain
                                                            : kGain;
  return static_cast<std::uint64_t>(gain * link_);
}

}  // namespace wire
