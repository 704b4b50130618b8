#include "src/wire/zstd_decoder.h"

#include <stdexcept>

#include <zstd.h>

#include "src/wire/protocol.h"

namespace wire {
namespace {

constexpr int kMaxWindowLog = 24;  // 16 MiB

}  // namespace

ZstdDecoder::ZstdDecoder(std::string what, std::uint64_t expected)
    : what_(std::move(what)), expected_(expected), ctx_(ZSTD_createDCtx()), out_(ZSTD_DStreamOutSize(), '\0') {
  if (!ctx_) throw std::runtime_error("zstd: out of memory");
  // treesync compresses with a 2 MiB window (level 3); a frame asking for
  // more than this is not ours, and would cost memory per part.
  ZSTD_DCtx_setParameter(ctx_, ZSTD_d_windowLogMax, kMaxWindowLog);
}

ZstdDecoder::~ZstdDecoder() { ZSTD_freeDCtx(ctx_); }

void ZstdDecoder::feed(const char* data, std::size_t n, const Sink& out) {
  ZSTD_inBuffer src{data, n, 0};
  // Until the input is used up and the decoder holds nothing back (it left
  // room in the output).
  for (;;) {
    ZSTD_outBuffer dst{out_.data(), out_.size(), 0};
    last_ = ZSTD_decompressStream(ctx_, &dst, &src);
    if (ZSTD_isError(last_)) throw Error(what_ + ": zstd: " + ZSTD_getErrorName(last_));
    produced_ += dst.pos;
    if (produced_ > expected_)
      throw Error(what_ + " decompresses to more than " + std::to_string(expected_) + " bytes");
    out(out_.data(), dst.pos);
    if (src.pos == src.size && dst.pos < dst.size) return;
  }
}

void ZstdDecoder::finish() const {
  if (last_ != 0 || produced_ != expected_)
    throw Error(what_ + " decompresses to " + std::to_string(produced_) + " bytes, expected " +
                             std::to_string(expected_));
}

}  // namespace wire
