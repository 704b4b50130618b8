#include "src/wire/stripe_map.h"

#include <algorithm>
#include <stdexcept>

namespace wire {

StripeMap::StripeMap(std::uint64_t size, int stripes, std::uint64_t unit) : size_(size), unit_(unit), k_(stripes) {
  if (stripes < 1 || unit == 0) throw std::invalid_argument("a stripe map needs at least one stripe and a unit");
}

std::uint64_t StripeMap::stripe_size(int s) const {
  const std::uint64_t units = size_ / unit_, tail = size_ % unit_;
  const auto k = static_cast<std::uint64_t>(k_), si = static_cast<std::uint64_t>(s);
  // Whole units of stripe s: those u < units with u % k == s.
  std::uint64_t whole_units = units / k + (units % k > si ? 1 : 0);
  return whole_units * unit_ + (tail && units % k == si ? tail : 0);
}

std::uint64_t StripeMap::stripe_window(int s, std::uint64_t window) const {
  const std::uint64_t size = stripe_size(s);
  if (window == 0) return size;
  const auto k = static_cast<std::uint64_t>(k_);
  return std::min(size, std::max((window + k - 1) / k, 2 * unit_));
}

StripeMap::Place StripeMap::locate(std::uint64_t offset) const {
  const std::uint64_t u = offset / unit_, in = offset % unit_;
  const auto k = static_cast<std::uint64_t>(k_);
  const std::uint64_t run = std::min(unit_ - in, size_ > offset ? size_ - offset : 0);
  return {static_cast<int>(u % k), (u / k) * unit_ + in, run};
}

std::uint64_t StripeMap::whole(int s, std::uint64_t offset) const {
  if (offset >= stripe_size(s)) return size_;
  const std::uint64_t u = offset / unit_;
  return (u * static_cast<std::uint64_t>(k_) + static_cast<std::uint64_t>(s)) * unit_ + offset % unit_;
}

std::uint64_t StripeMap::stripe_offset_from(int s, std::uint64_t offset) const {
  if (offset >= size_) return stripe_size(s);
  const Place p = locate(offset);
  if (p.stripe == s) return p.offset;
  // The next unit of stripe s after offset's unit starts its offset.
  const auto k = static_cast<std::uint64_t>(k_);
  const std::uint64_t u = offset / unit_;
  std::uint64_t next = u - u % k + static_cast<std::uint64_t>(s);
  if (next <= u) next += k;
  return std::min((next / k) * unit_, stripe_size(s));
}

std::uint64_t StripeMap::contiguous(const std::vector<std::uint64_t>& held) const {
  std::uint64_t first = size_;
  for (int s = 0; s < k_; ++s) first = std::min(first, whole(s, held[static_cast<std::size_t>(s)]));
  return first;
}

ByteReader stripe_reader(const StripeMap& map, int s, ByteReader read_whole) {
  return [map, s, read_whole = std::move(read_whole)](std::uint64_t offset, char* buf, std::size_t n) -> std::size_t {
    if (offset >= map.stripe_size(s)) return 0;
    const std::uint64_t at = map.whole(s, offset);
    const std::uint64_t run = map.locate(at).run;
    return read_whole(at, buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, run)));
  };
}

}  // namespace wire
