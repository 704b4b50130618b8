// How a stream is cut into stripes: unit u (a chunk, 1 MiB) of the stream
// belongs to stripe u mod k, and each stripe is a stream of its own (its
// units one after another), sent down its own tree, resumed at its own
// offsets. k = 1 is the stream itself. Both ends compute the same map from
// the stream's size, k and the unit: nothing of it travels. Pure code
// (tests/stripe_map_test.cpp).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "src/wire/bundle.h"
#include "src/wire/protocol.h"

namespace wire {

// At most this many stripes: a relay keeps a spool file, a parent and a
// thread for each.
constexpr int kMaxStripes = 16;

class StripeMap {
 public:
  StripeMap(std::uint64_t size, int stripes, std::uint64_t unit = kChunkSize);

  int stripes() const { return k_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t unit() const { return unit_; }
  std::uint64_t stripe_size(int s) const;
  // What a spool of stripe s keeps of a stream's `window` (0: all of it):
  // its share, never less than two units, never more than the stripe.
  std::uint64_t stripe_window(int s, std::uint64_t window) const;
  // Where whole-stream byte `offset` lies: its stripe, its offset in that
  // stripe's stream, and how many bytes from there stay in that stripe
  // before the next unit (which belongs to the next stripe).
  struct Place {
    int stripe;
    std::uint64_t offset;
    std::uint64_t run;
  };
  Place locate(std::uint64_t offset) const;
  // The whole-stream offset of byte `offset` of stripe s (size() at its end).
  std::uint64_t whole(int s, std::uint64_t offset) const;
  // The offset in stripe s of its first byte at or after whole-stream
  // offset `offset` (stripe_size(s) if there is none).
  std::uint64_t stripe_offset_from(int s, std::uint64_t offset) const;
  // The first whole-stream byte not held, when stripe s holds its first
  // held[s] bytes.
  std::uint64_t contiguous(const std::vector<std::uint64_t>& held) const;

 private:
  std::uint64_t size_, unit_;
  int k_;
};

// Reads stripe s's stream through a reader of the whole one.
ByteReader stripe_reader(const StripeMap& map, int s, ByteReader read_whole);

}  // namespace wire
