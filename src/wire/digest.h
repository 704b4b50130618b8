// SHA-256 for what the relay must check before a runtime sees it (layers and
// configs, named by their digests), and HMAC-SHA256 for authenticating the
// edges between relays. OpenSSL's low-level SHA-256 links statically into
// the relay for about 90 KB and uses the CPU's SHA instructions.
#pragma once

#include <openssl/sha.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace wire {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t n);
  // "sha256:<64 hex>", the form Docker names layers and configs by.
  std::string digest();

 private:
  SHA256_CTX ctx_;
};

std::string sha256_digest(std::string_view bytes);  // "sha256:<hex>"
// HMAC-SHA256 (RFC 2104) of message under key, as 64 hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
// n random bytes from the kernel, as hex; throws wire::Error if none can be had.
std::string random_hex(std::size_t n);
// Compares secrets in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace wire
