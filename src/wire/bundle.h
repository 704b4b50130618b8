// What a node receives in place of a `docker save` archive (docs/protocol.md):
// a list of parts, each an image config, a layer tar or (the files payload)
// a file named by its SHA-256,
// sent one after another, a layer possibly zstd-compressed. A node's stream
// holds the parts its own load and its subtree need; the relay checks each
// part it loads against its digest and writes the archive (manifest.json
// included) itself.
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
enum class PartKind { Config, Layer, File };

struct Part {
  PartKind kind = PartKind::Layer;
  std::string digest;       // sha256:<hex> of the decoded bytes: the config digest or the diff ID
  Codec codec = Codec::None;
  std::uint64_t size = 0;   // bytes on the wire
  std::uint64_t raw = 0;    // bytes once decoded: the file's size in the archive
  // Files only: where it goes under the destination (a checked relative
  // path, src/wire/rel_path.h), its permission bits and its mtime.
  std::string path{};
  std::uint32_t mode = 0;
  std::uint64_t mtime_ns = 0;  // since the epoch (a file from before 1970 is refused on the source)

  // Its path in the archive docker load reads: <hex>.json or <hex>/layer.tar;
  // a file's path under the destination.
  std::string name() const;
};

const char* codec_name(Codec c);
bool is_digest(const std::string& s);  // sha256:<64 lowercase hex>
// Part's JSON form; from_json throws wire::Error for a malformed digest, an
// unknown kind or codec, or sizes that cannot be: the relay writes an
// archive from these and trusts no input.
void to_json(Json& j, const Part& p);
void from_json(const Json& j, Part& p);
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
