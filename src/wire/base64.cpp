#include "src/wire/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace wire {

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the zero bytes the padding stands for.
  const std::size_t pad = static_cast<std::size_t>(std::count(text.end() - std::min<std::size_t>(2, text.size()), text.end(), '='));
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

}  // namespace wire
