#include "src/delivery/probe_quiet.h"

#include <algorithm>

namespace treesync {

ProbeTime probe_quiet(const std::vector<ProbeTime>& answered) {
  const auto [fastest, slowest] = std::minmax_element(answered.begin(), answered.end());
  const ProbeTime spread = *slowest - *fastest;
  return std::clamp(std::max(2 * spread, *slowest / 2), kProbeQuietFloor, kProbeQuietCap);
}

std::optional<ProbeTime> probes_go_on_at(const std::vector<ProbeTime>& answered, const std::vector<ProbeTime>& running) {
  if (answered.empty() || running.empty()) return std::nullopt;
  const ProbeTime grace = *std::max_element(answered.begin(), answered.end()) + probe_quiet(answered);
  return *std::max_element(running.begin(), running.end()) + grace;
}

}  // namespace treesync
