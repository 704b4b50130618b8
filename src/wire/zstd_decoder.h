// Streaming zstd decompression of one frame, checked against the size the
// sender announced: a short, long or damaged frame is an error, never
// silently passed on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct ZSTD_DCtx_s;

namespace wire {

class ZstdDecoder {
 public:
  using Sink = std::function<void(const char* data, std::size_t n)>;
  // `what` names the data in errors; `expected` is its decoded size.
  ZstdDecoder(std::string what, std::uint64_t expected);
  ~ZstdDecoder();

  // Decodes the next compressed bytes, handing what comes out to `out`.
  void feed(const char* data, std::size_t n, const Sink& out);
  // Throws unless one whole frame of exactly the expected size was decoded.
  void finish() const;

 private:
  std::string what_;
  std::uint64_t expected_, produced_ = 0;
  std::size_t last_ = 1;  // 0 once a whole frame was decoded
  ZSTD_DCtx_s* ctx_;
  std::string out_;
};

}  // namespace wire
