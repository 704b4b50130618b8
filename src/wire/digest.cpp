#include "src/wire/digest.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "src/wire/protocol.h"

// OpenSSL 3 deprecates the low-level calls in favour of EVP, whose provider
// machinery would triple the static relay's size for one hash.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace wire {

Sha256::Sha256() { SHA256_Init(&ctx_); }

void Sha256::update(const void* data, std::size_t n) { SHA256_Update(&ctx_, data, n); }

std::string Sha256::digest() {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256_Final(out, &ctx_);
  return "sha256:" + to_hex(out, sizeof out);
}

std::string sha256_digest(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.digest();
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  constexpr std::size_t kBlock = 64;
  unsigned char k[kBlock] = {};
  SHA256_CTX c;
  if (key.size() > kBlock) {  // SHA256() itself would pull OpenSSL's EVP machinery into the relay
    SHA256_Init(&c);
    SHA256_Update(&c, key.data(), key.size());
    SHA256_Final(k, &c);
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  unsigned char ipad[kBlock], opad[kBlock];
  for (std::size_t i = 0; i < kBlock; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  unsigned char inner[SHA256_DIGEST_LENGTH], outer[SHA256_DIGEST_LENGTH];
  SHA256_Init(&c);
  SHA256_Update(&c, ipad, kBlock);
  SHA256_Update(&c, message.data(), message.size());
  SHA256_Final(inner, &c);
  SHA256_Init(&c);
  SHA256_Update(&c, opad, kBlock);
  SHA256_Update(&c, inner, sizeof inner);
  SHA256_Final(outer, &c);
  return to_hex(outer, sizeof outer);
}

std::string random_hex(std::size_t n) {
  std::string raw(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(raw.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw Error(std::string("no random bytes from the kernel: ") + std::strerror(errno));
    got += static_cast<std::size_t>(r);
  }
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), n);
}

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace wire
