// When a node's runtime has loaded the image: it loads the ordered stream
// as it arrives (treesync loads while it receives), at most `load_rate`
// bytes per second. So it ends no sooner than its first byte plus the whole
// load at that rate, and no sooner than its last byte plus the last chunk's
// load. A model of the runtime's speed, not of what it does.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sim {

inline double loaded_at(double first_byte, double last_byte, std::uint64_t bytes, std::uint64_t chunk,
                        double load_rate) {
  if (load_rate <= 0) return last_byte;
  return std::max(first_byte + static_cast<double>(bytes) / load_rate,
                  last_byte + static_cast<double>(std::min(chunk, bytes)) / load_rate);
}

}  // namespace sim
