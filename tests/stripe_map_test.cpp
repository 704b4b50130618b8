#include <catch2/catch.hpp>

#include <numeric>
#include <string>

#include "src/wire/stripe_map.h"

using wire::StripeMap;

namespace {

// The whole stream as its bytes' own offsets (mod 251), so a misplaced
// byte shows.
char byte_at(std::uint64_t o) { return static_cast<char>(o % 251); }

wire::ByteReader whole_reader(std::uint64_t size) {
  return [size](std::uint64_t offset, char* buf, std::size_t n) -> std::size_t {
    std::size_t i = 0;
    for (; i < n && offset + i < size; ++i) buf[i] = byte_at(offset + i);
    return i;
  };
}

}  // namespace

TEST_CASE("stripe map: every byte of the stream is in exactly one stripe, in order", "[stripes]") {
  for (std::uint64_t size : {0ull, 1ull, 9ull, 10ull, 11ull, 39ull, 40ull, 41ull, 123ull}) {
    for (int k : {1, 2, 3, 4, 7}) {
      StripeMap map(size, k, 10);
      std::uint64_t total = 0;
      for (int s = 0; s < k; ++s) total += map.stripe_size(s);
      REQUIRE(total == size);
      std::vector<std::uint64_t> next(static_cast<std::size_t>(k), 0);
      for (std::uint64_t o = 0; o < size; ++o) {
        auto p = map.locate(o);
        // Stripe streams are filled in order as the whole one is read.
        REQUIRE(p.offset == next[static_cast<std::size_t>(p.stripe)]);
        ++next[static_cast<std::size_t>(p.stripe)];
        REQUIRE(map.whole(p.stripe, p.offset) == o);
        REQUIRE(p.run >= 1);
        REQUIRE(p.run <= 10 - o % 10);
      }
      for (int s = 0; s < k; ++s) REQUIRE(map.whole(s, map.stripe_size(s)) == size);
    }
  }
}

TEST_CASE("stripe map: k = 1 is the stream itself", "[stripes]") {
  StripeMap map(12345, 1, 1000);
  REQUIRE(map.stripe_size(0) == 12345);
  for (std::uint64_t o : {0ull, 999ull, 1000ull, 12344ull}) {
    REQUIRE(map.locate(o).stripe == 0);
    REQUIRE(map.locate(o).offset == o);
  }
}

TEST_CASE("stripe map: the whole stream's held prefix is where the first stripe gap is", "[stripes]") {
  StripeMap map(95, 3, 10);  // units 0..9: stripes 0,1,2,0,1,2,0,1,2,0 (the last 5 bytes)
  REQUIRE(map.stripe_size(0) == 35);
  REQUIRE(map.stripe_size(1) == 30);
  REQUIRE(map.stripe_size(2) == 30);
  REQUIRE(map.contiguous({0, 0, 0}) == 0);
  REQUIRE(map.contiguous({10, 0, 0}) == 10);
  REQUIRE(map.contiguous({10, 10, 10}) == 30);
  REQUIRE(map.contiguous({20, 5, 30}) == 15);  // stripe 1 stops inside unit 1
  REQUIRE(map.contiguous({35, 30, 30}) == 95);
  REQUIRE(map.contiguous({35, 30, 20}) == 80);  // unit 8 (stripe 2's third) missing
}

TEST_CASE("stripe map: a rewind to a whole offset maps to each stripe's first byte at or after it", "[stripes]") {
  StripeMap map(95, 3, 10);
  REQUIRE(map.stripe_offset_from(0, 0) == 0);
  REQUIRE(map.stripe_offset_from(1, 0) == 0);
  REQUIRE(map.stripe_offset_from(0, 15) == 10);  // unit 1 is stripe 1's: stripe 0 resumes at unit 3
  REQUIRE(map.stripe_offset_from(1, 15) == 5);
  REQUIRE(map.stripe_offset_from(2, 15) == 0);
  REQUIRE(map.stripe_offset_from(2, 90) == 30);  // past its last unit
  REQUIRE(map.stripe_offset_from(0, 95) == 35);
  // Every stripe rewound to whole offset o holds exactly the prefix o when o is on a unit boundary.
  for (std::uint64_t o = 0; o <= 95; o += 10) {
    std::vector<std::uint64_t> held;
    for (int s = 0; s < 3; ++s) held.push_back(map.stripe_offset_from(s, o));
    REQUIRE(map.contiguous(held) == std::min<std::uint64_t>(o, 95));
  }
}

TEST_CASE("stripe map: a stripe's reader yields its units of the whole stream", "[stripes]") {
  const std::uint64_t size = 1000;
  StripeMap map(size, 4, 64);
  for (int s = 0; s < 4; ++s) {
    auto read = wire::stripe_reader(map, s, whole_reader(size));
    std::string got;
    char buf[100];
    for (std::size_t n; (n = read(got.size(), buf, sizeof buf)) > 0;) got.append(buf, n);
    REQUIRE(got.size() == map.stripe_size(s));
    for (std::uint64_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == byte_at(map.whole(s, i)));
  }
}

TEST_CASE("stripe map: each stripe's spool keeps its share of the window, two units at least, the stripe at most") {
  StripeMap map(1000, 4, 10);  // stripes of 250
  CHECK(map.stripe_window(0, 0) == 250);    // 0: the whole stream, so the whole stripe
  CHECK(map.stripe_window(0, 400) == 100);  // a quarter
  CHECK(map.stripe_window(0, 401) == 101);  // rounded up: the shares cover the window
  CHECK(map.stripe_window(0, 40) == 20);    // two units at least
  CHECK(map.stripe_window(0, 4000) == 250); // never more than the stripe
}
