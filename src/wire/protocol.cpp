#include "src/wire/protocol.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace wire {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
std::uint64_t get_be(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

bool Frame::intact() const { return chunk_hash(body) == hash; }

Json Frame::json() const {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error("control message is not a JSON object");
  return j;
}

std::uint64_t chunk_hash(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

void test_corrupt(std::uint64_t offset, char* bytes, std::size_t n) {
  static const char* at_text = std::getenv("TREESYNC_TEST_CORRUPT_AT");
  static std::atomic<bool> fired{false};
  if (!at_text) return;
  std::uint64_t at = std::strtoull(at_text, nullptr, 10);
  if (at >= offset && at < offset + n && !fired.exchange(true)) bytes[at - offset] ^= 0x5a;
}

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
  return out;
}

std::string file_hash_hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path);
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    XXH3_128bits_update(state, buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return hex;
}

std::string encode_message(const Json& message) {
  // Invalid UTF-8 (a peer's address or a path in an error) must not throw
  // from a thread that reports it.
  std::string text = message.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string out;
  out.reserve(kHeaderSize + text.size());
  out.push_back(static_cast<char>(Kind::Message));
  put_u32(out, static_cast<std::uint32_t>(text.size()));
  return out + text;
}

std::string encode_data_header(std::uint64_t offset, std::string_view bytes) {
  std::string out;
  out.push_back(static_cast<char>(Kind::Data));
  put_u32(out, static_cast<std::uint32_t>(kDataPrefix + bytes.size()));
  put_u64(out, offset);
  put_u64(out, chunk_hash(bytes));
  return out;
}

void FrameReader::feed(const char* data, std::size_t n) {
  // Drop what was consumed before growing, so the buffer stays about one frame.
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, n);
}

std::optional<Frame> FrameReader::next() {
  if (buf_.size() - pos_ < kHeaderSize) return std::nullopt;
  const char* p = buf_.data() + pos_;
  char kind = p[0];
  auto length = static_cast<std::uint32_t>(get_be(p + 1, 4));
  if (kind != static_cast<char>(Kind::Message) && kind != static_cast<char>(Kind::Data))
    throw Error("unknown frame kind " + std::to_string(static_cast<unsigned char>(kind)));
  if (length > max_frame_) throw Error("frame of " + std::to_string(length) + " bytes is too large");
  if (kind == static_cast<char>(Kind::Data) && length < kDataPrefix) throw Error("data frame too short");
  if (buf_.size() - pos_ < kHeaderSize + length) return std::nullopt;

  Frame f;
  f.kind = static_cast<Kind>(kind);
  const char* body = p + kHeaderSize;
  if (f.kind == Kind::Data) {
    f.offset = get_be(body, 8);
    f.hash = get_be(body + 8, 8);
    f.body.assign(body + kDataPrefix, length - kDataPrefix);
  } else {
    f.body.assign(body, length);
  }
  pos_ += kHeaderSize + length;
  return f;
}

}  // namespace wire
