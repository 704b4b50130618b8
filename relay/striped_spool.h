// The spool of a striped stream (wire/stripe_map.h): one Spool per stripe,
// each filled in order by that stripe's parent and read by that stripe's
// children, while the load reads the whole stream across them. The load is
// a reader of every stripe's spool, so a stripe that runs ahead fills its
// own window and then waits (back-pressure to its parent only): the
// windows together are the reorder window. One stripe is a plain Spool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relay/spool.h"
#include "src/wire/stripe_map.h"

namespace relay {

class StripedSpool {
 public:
  // window: for the whole stream (0: all of it); each stripe's spool keeps
  // its share, never less than two units.
  StripedSpool(const std::string& path, wire::StripeMap map, std::uint64_t window);

  int stripes() const { return map_.stripes(); }
  const wire::StripeMap& map() const { return map_; }
  Spool& stripe(int s) { return *spools_[static_cast<std::size_t>(s)]; }

  // A reader of the whole stream that every stripe's writer waits for.
  using ReaderId = std::size_t;
  ReaderId add_reader();
  void remove_reader(ReaderId id);
  // As Spool::read, in whole-stream offsets; stops at the end of a unit.
  std::size_t read(std::uint64_t offset, char* buf, std::size_t n, ReaderId who);

  std::uint64_t size() const { return map_.size(); }
  // The whole stream's prefix held (every stripe up to there).
  std::uint64_t written() const;
  std::vector<std::uint64_t> written_per_stripe() const;
  bool complete() const { return written() == size(); }
  // Whether every stripe still holds its bytes from whole offset `offset` on.
  bool holds_from(std::uint64_t offset) const;
  // Every stripe forgets its bytes from whole offset `offset` on.
  void rewind(std::uint64_t offset);
  void abort(const std::string& why);

 private:
  wire::StripeMap map_;
  std::vector<std::unique_ptr<Spool>> spools_;
  std::vector<std::vector<Spool::ReaderId>> readers_;  // per whole-stream reader: its id in each stripe
};

}  // namespace relay
