// A layer blob as a runtime stores it, decoded as it streams: gzip (what
// `docker pull`, BuildKit and the containerd store keep), zstd (the
// `tar+zstd` media types), or a plain tar. The codec is told by the blob's
// first bytes, not by a media type: an OCI archive's manifest comes after
// its blobs. Nothing is ever held whole: each decoded piece goes to a sink.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace treesync {

enum class BlobCodec { Plain, Gzip, Zstd };

// From at least the first 4 bytes of a blob (fewer if the blob is shorter).
BlobCodec sniff_codec(const char* head, std::size_t n);
const char* codec_name(BlobCodec c);

class BlobDecoder {
 public:
  using Sink = std::function<void(const char* data, std::size_t n)>;
  // `what` names the blob in errors ("docker save's blob sha256:…").
  BlobDecoder(BlobCodec codec, std::string what);
  ~BlobDecoder();
  BlobDecoder(const BlobDecoder&) = delete;
  BlobDecoder& operator=(const BlobDecoder&) = delete;

  // Decodes the next bytes of the blob, handing what comes out to `out`.
  // Throws on bytes that are not a valid stream of the codec.
  void feed(const char* data, std::size_t n, const Sink& out);
  // Throws unless the blob ended where its stream ends (a cut gzip member or
  // zstd frame is an error). Gzip members and zstd frames may follow each
  // other, as pigz and zstd write them.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace treesync
