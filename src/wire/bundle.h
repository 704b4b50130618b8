// What a node receives in place of a `docker save` archive (docs/protocol.md):
// a list of parts, each one file of the archive `docker load` will read
// (manifest.json, image configs, layer tars), sent one after another, a
// layer possibly zstd-compressed. A node's stream holds the parts its own
// load and its subtree need; the relay turns the parts it loads into a tar.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/wire/protocol.h"

namespace wire {

enum class Codec { None, Zstd };

struct Part {
  std::string name;         // path inside the archive docker load reads
  Codec codec = Codec::None;
  std::uint64_t size = 0;   // bytes on the wire
  std::uint64_t raw = 0;    // bytes once decoded: the file's size in the archive
};

const char* codec_name(Codec c);
Json parts_to_json(const std::vector<Part>& parts);
// Throws wire::Error for anything but the names treesync writes: the relay
// builds an archive from them and trusts no input.
std::vector<Part> parts_from_json(const Json& j);
std::uint64_t total_size(const std::vector<Part>& parts);

// Some of a stream's parts, in order, seen as a stream of their own: a
// child's stream inside its parent's spool, or a node's inside the source's
// whole bundle.
class PartView {
 public:
  PartView(const std::vector<Part>& whole, const std::vector<std::size_t>& selected);
  std::uint64_t size() const { return size_; }
  // Where byte `offset` of the view lies in the whole stream, and how many
  // bytes from there belong to the view without a gap.
  std::pair<std::uint64_t, std::uint64_t> locate(std::uint64_t offset) const;

 private:
  struct Span {
    std::uint64_t view_start, whole_start, length;
  };
  std::vector<Span> spans_;
  std::uint64_t size_ = 0;
};

// Copies up to n bytes at offset into buf; 0 only at the end.
using ByteReader = std::function<std::size_t(std::uint64_t offset, char* buf, std::size_t n)>;
// Reads the view's stream through a reader of the whole one.
ByteReader view_reader(std::shared_ptr<const PartView> view, ByteReader read_whole);

// Where each part starts in a stream of all of them.
std::vector<std::uint64_t> part_offsets(const std::vector<Part>& parts);

}  // namespace wire
