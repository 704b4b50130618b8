// The source's side of the streams: the bytes of a prepared bundle, read
// from the layer cache, and each node's stream (some of its parts) as the
// source's senders read it.
#pragma once

#include <cstdint>
#include <vector>

#include "src/wire/sender.h"
#include "src/cache/layer_cache.h"

namespace treesync {

class BundleReader {
 public:
  explicit BundleReader(const PreparedBundle& prepared);  // opens every file once
  ~BundleReader();
  BundleReader(const BundleReader&) = delete;
  BundleReader& operator=(const BundleReader&) = delete;

  // Up to n bytes of the whole bundle at offset; safe from many threads.
  std::size_t read(std::uint64_t offset, char* buf, std::size_t n) const;
  // The stream made of `parts`, for a Sender.
  wire::Sender::Reader stream(const PartList& parts) const;

 private:
  const PreparedBundle& prepared_;
  std::vector<std::uint64_t> starts_;
  std::vector<int> fds_;
};

}  // namespace treesync
