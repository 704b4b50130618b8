#include "src/cache/blob_decoder.h"

#include <stdexcept>

#include <zlib.h>
#include <zstd.h>

namespace treesync {
namespace {

constexpr std::size_t kOut = 1 << 20;

}  // namespace

BlobCodec sniff_codec(const char* head, std::size_t n) {
  const auto* b = reinterpret_cast<const unsigned char*>(head);
  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return BlobCodec::Gzip;
  if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return BlobCodec::Zstd;
  return BlobCodec::Plain;
}

const char* codec_name(BlobCodec c) { return c == BlobCodec::Gzip ? "gzip" : c == BlobCodec::Zstd ? "zstd" : "plain"; }

struct BlobDecoder::Impl {
  BlobCodec codec;
  std::string what;
  std::string out = std::string(kOut, '\0');
  z_stream zs{};
  bool z_init = false;
  ZSTD_DCtx* zstd = nullptr;
  bool ended = true;      // the last member or frame is complete (vacuously, before any byte)
  bool any = false;       // a byte came

  std::runtime_error error(const std::string& why) const {
    return std::runtime_error(what + " is not a valid " + codec_name(codec) + " stream (" + why +
                              "): the archive is damaged");
  }

  void gzip(const char* data, std::size_t n, const Sink& sink) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    zs.avail_in = static_cast<uInt>(n);
    while (zs.avail_in > 0) {
      if (ended) {  // another member follows the last one
        if (inflateReset(&zs) != Z_OK) throw error("inflateReset failed");
        ended = false;
      }
      // Until inflate leaves room in the output: then it holds nothing back.
      do {
        zs.next_out = reinterpret_cast<Bytef*>(out.data());
        zs.avail_out = static_cast<uInt>(out.size());
        int rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
          throw error(zs.msg ? zs.msg : "inflate error " + std::to_string(rc));
        std::size_t got = out.size() - zs.avail_out;
        if (got) sink(out.data(), got);
        if (rc == Z_STREAM_END) {
          ended = true;
          break;
        }
      } while (zs.avail_out == 0);
    }
  }

  void zstd_feed(const char* data, std::size_t n, const Sink& sink) {
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      std::size_t left = ZSTD_decompressStream(zstd, &o, &in);
      if (ZSTD_isError(left)) throw error(ZSTD_getErrorName(left));
      ended = left == 0;
      if (o.pos) sink(out.data(), o.pos);
      if (in.pos == in.size && o.pos < o.size) return;
    }
  }
};

BlobDecoder::BlobDecoder(BlobCodec codec, std::string what) : impl_(std::make_unique<Impl>()) {
  impl_->codec = codec;
  impl_->what = std::move(what);
  if (codec == BlobCodec::Gzip) {
    if (inflateInit2(&impl_->zs, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("zlib: out of memory");
    impl_->z_init = true;
    impl_->ended = false;
  } else if (codec == BlobCodec::Zstd) {
    impl_->zstd = ZSTD_createDCtx();
    if (!impl_->zstd) throw std::runtime_error("zstd: out of memory");
    impl_->ended = false;
  }
}

BlobDecoder::~BlobDecoder() {
  if (impl_->z_init) inflateEnd(&impl_->zs);
  if (impl_->zstd) ZSTD_freeDCtx(impl_->zstd);
}

void BlobDecoder::feed(const char* data, std::size_t n, const Sink& out) {
  if (n == 0) return;
  impl_->any = true;
  switch (impl_->codec) {
    case BlobCodec::Plain: return out(data, n);
    case BlobCodec::Gzip: return impl_->gzip(data, n, out);
    case BlobCodec::Zstd: return impl_->zstd_feed(data, n, out);
  }
}

void BlobDecoder::finish() {
  if (impl_->codec == BlobCodec::Plain) return;
  if (!impl_->any) throw impl_->error("it is empty");
  if (!impl_->ended) throw impl_->error("it ends in the middle of a " +
                                        std::string(impl_->codec == BlobCodec::Gzip ? "member" : "frame"));
}

}  // namespace treesync
