#include "src/wire/bundle.h"

#include <algorithm>
#include <memory>
#include <regex>

#include "src/wire/rel_path.h"

namespace wire {

const char* codec_name(Codec c) { return c == Codec::Zstd ? "zstd" : "none"; }

bool is_digest(const std::string& s) {
  static const std::regex re("sha256:[0-9a-f]{64}");
  return std::regex_match(s, re);
}

std::string Part::name() const {
  if (kind == PartKind::File) return path;
  std::string hex = digest.substr(digest.find(':') + 1);
  return kind == PartKind::Config ? hex + ".json" : hex + "/layer.tar";
}

void to_json(Json& j, const Part& p) {
  j = {{"kind", p.kind == PartKind::Config ? "config" : p.kind == PartKind::File ? "file" : "layer"},
       {"digest", p.digest},
       {"codec", codec_name(p.codec)},
       {"size", p.size},
       {"raw", p.raw}};
  if (p.kind != PartKind::File) return;
  j["path"] = p.path;
  j["mode"] = p.mode;
  j["mtime_ns"] = p.mtime_ns;
}

void from_json(const Json& j, Part& p) {
  std::string kind = j.at("kind").get<std::string>();
  if (kind != "config" && kind != "layer" && kind != "file") throw Error("unknown part kind '" + kind + "'");
  p.kind = kind == "config" ? PartKind::Config : kind == "file" ? PartKind::File : PartKind::Layer;
  p.digest = j.at("digest").get<std::string>();
  if (!is_digest(p.digest)) throw Error("refusing part digest '" + p.digest + "'");
  std::string codec = j.at("codec").get<std::string>();
  if (codec != "none" && codec != "zstd") throw Error("unknown codec '" + codec + "' for " + p.digest);
  p.codec = codec == "zstd" ? Codec::Zstd : Codec::None;
  p.size = j.at("size").get<std::uint64_t>();
  p.raw = j.at("raw").get<std::uint64_t>();
  if (p.codec == Codec::None && p.size != p.raw) throw Error("part " + p.digest + ": size and raw size differ");
  if (p.kind != PartKind::File) return;
  // A file's path is where the relay writes: the wire names nothing outside
  // the destination, and no mode bits beyond the permissions.
  p.path = j.at("path").get<std::string>();
  check_relative_path(p.path);
  p.mode = j.at("mode").get<std::uint32_t>();
  if (p.mode & ~07777u) throw Error("file " + p.path + ": mode " + std::to_string(p.mode) + " is not permission bits");
  p.mtime_ns = j.at("mtime_ns").get<std::uint64_t>();
}

// Sizes come from the wire: a sum that wraps would make a spool of no size.
std::uint64_t total_size(const std::vector<Part>& parts) {
  std::vector<std::uint64_t> starts = part_offsets(parts);
  return parts.empty() ? 0 : starts.back() + parts.back().size;
}

std::vector<std::uint64_t> part_offsets(const std::vector<Part>& parts) {
  std::vector<std::uint64_t> out;
  std::uint64_t at = 0;
  for (const auto& p : parts) {
    out.push_back(at);
    if (__builtin_add_overflow(at, p.size, &at)) throw Error("the parts' sizes add up past 2^64 bytes");
  }
  return out;
}

PartView::PartView(const std::vector<Part>& whole, const std::vector<std::size_t>& selected) {
  std::vector<std::uint64_t> starts = part_offsets(whole);
  for (std::size_t i : selected) {
    if (i >= whole.size()) throw Error("part index " + std::to_string(i) + " out of range");
    if (!spans_.empty() && starts[i] < spans_.back().whole_start + spans_.back().length)
      throw Error("part indexes must rise");
    if (whole[i].size == 0) continue;
    // Adjacent parts make one span, so reads cross part boundaries.
    if (!spans_.empty() && spans_.back().whole_start + spans_.back().length == starts[i])
      spans_.back().length += whole[i].size;
    else
      spans_.push_back({size_, starts[i], whole[i].size});
    size_ += whole[i].size;
  }
}

std::pair<std::uint64_t, std::uint64_t> PartView::locate(std::uint64_t offset) const {
  auto it = std::upper_bound(spans_.begin(), spans_.end(), offset,
                             [](std::uint64_t o, const Span& s) { return o < s.view_start; });
  if (it == spans_.begin() || offset >= size_) return {0, 0};
  --it;
  std::uint64_t into = offset - it->view_start;
  return {it->whole_start + into, it->length - into};
}

ByteReader view_reader(std::shared_ptr<const PartView> view, ByteReader read_whole) {
  return [view, read_whole = std::move(read_whole)](std::uint64_t offset, char* buf, std::size_t n) -> std::size_t {
    auto [at, run] = view->locate(offset);
    return run == 0 ? 0 : read_whole(at, buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, run)));
  };
}

}  // namespace wire
