// The wire protocol between treesync and its relays (docs/protocol.md).
//
// Two kinds of frames, on the control channel (SSH: messages only) and on
// every data link (TCP, or TCP carried over SSH: the handshake's messages,
// then chunks):
//   'M' <u32 length> <JSON text>                      a control message
//   'D' <u32 length> <u64 offset> <u64 xxh3> <bytes>  an archive chunk
// Integers are big-endian; length counts everything after the header.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wire {

using Json = nlohmann::json;

constexpr std::size_t kChunkSize = 1 << 20;
constexpr std::uint32_t kMaxFrame = 16u << 20;
constexpr std::size_t kHeaderSize = 5;
constexpr std::size_t kDataPrefix = 16;
// The largest frame on a data link: a whole chunk with its prefix.
constexpr std::uint32_t kMaxDataFrame = kChunkSize + kDataPrefix;
// The largest frame a peer may send before it has authenticated.
constexpr std::uint32_t kMaxHandshakeFrame = 4096;

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Kind : char { Message = 'M', Data = 'D' };

struct Frame {
  Kind kind = Kind::Message;
  std::string body;          // JSON text, or the chunk's bytes
  std::uint64_t offset = 0;  // data frames: where the bytes go in the archive
  std::uint64_t hash = 0;    // data frames: XXH3-64 of the bytes as sent

  bool intact() const;  // data frames: do the bytes match their hash?
  Json json() const;    // message frames: parsed body (throws wire::Error)
};

std::uint64_t chunk_hash(std::string_view bytes);

// Test hook: with TREESYNC_TEST_CORRUPT_AT=<offset> in the environment, the
// first chunk sent that holds that offset gets one byte flipped after its
// hash was taken (once per process), so tests can show receivers catch it.
void test_corrupt(std::uint64_t offset, char* bytes, std::size_t n);
// Lowercase hex of n bytes.
std::string to_hex(const unsigned char* bytes, std::size_t n);
// XXH3-128 of a file as 32 hex digits: names the relay binary by content.
std::string file_hash_hex(const std::string& path);

std::string encode_message(const Json& message);
// The header of a data frame; the chunk's bytes follow it on the wire, so a
// sender can write them from its own buffer without a copy.
std::string encode_data_header(std::uint64_t offset, std::string_view bytes);

// Incremental decoder: feed it whatever arrives, take whole frames out.
class FrameReader {
 public:
  // Frames longer than max_frame are refused: before a peer has proved who
  // it is, a few KiB is all it may make us hold.
  explicit FrameReader(std::uint32_t max_frame = kMaxFrame) : max_frame_(max_frame) {}
  void set_max_frame(std::uint32_t max_frame) { max_frame_ = max_frame; }
  void feed(const char* data, std::size_t n);
  std::optional<Frame> next();  // throws wire::Error on a malformed stream
  bool empty() const { return buf_.size() == pos_; }

 private:
  std::uint32_t max_frame_;
  std::string buf_;
  std::size_t pos_ = 0;
};

}  // namespace wire
