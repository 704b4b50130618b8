#include "relay/striped_spool.h"

#include <algorithm>

namespace relay {

StripedSpool::StripedSpool(const std::string& path, wire::StripeMap map, std::uint64_t window) : map_(map) {
  for (int s = 0; s < map_.stripes(); ++s) {
    const std::string name = map_.stripes() == 1 ? path : path + "." + std::to_string(s);
    spools_.push_back(std::make_unique<Spool>(name, map_.stripe_size(s), map_.stripe_window(s, window)));
  }
}

StripedSpool::ReaderId StripedSpool::add_reader() {
  std::vector<Spool::ReaderId> ids;
  for (auto& s : spools_) ids.push_back(s->add_reader(false));
  readers_.push_back(std::move(ids));
  return readers_.size() - 1;
}

void StripedSpool::remove_reader(ReaderId id) {
  for (std::size_t s = 0; s < spools_.size(); ++s) spools_[s]->remove_reader(readers_[id][s]);
}

std::size_t StripedSpool::read(std::uint64_t offset, char* buf, std::size_t n, ReaderId who) {
  if (offset >= size()) return 0;
  const wire::StripeMap::Place p = map_.locate(offset);
  const auto s = static_cast<std::size_t>(p.stripe);
  return spools_[s]->read(p.offset, buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, p.run)), readers_[who][s]);
}

std::vector<std::uint64_t> StripedSpool::written_per_stripe() const {
  std::vector<std::uint64_t> out;
  for (const auto& s : spools_) out.push_back(s->written());
  return out;
}

std::uint64_t StripedSpool::written() const { return map_.contiguous(written_per_stripe()); }

bool StripedSpool::holds_from(std::uint64_t offset) const {
  for (int s = 0; s < map_.stripes(); ++s)
    if (spools_[static_cast<std::size_t>(s)]->oldest() > map_.stripe_offset_from(s, offset)) return false;
  return true;
}

void StripedSpool::rewind(std::uint64_t offset) {
  for (int s = 0; s < map_.stripes(); ++s) {
    spools_[static_cast<std::size_t>(s)]->rewind(map_.stripe_offset_from(s, offset));
  }
}

void StripedSpool::abort(const std::string& why) {
  for (auto& s : spools_) s->abort(why);
}

}  // namespace relay
