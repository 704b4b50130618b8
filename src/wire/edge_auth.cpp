#include "src/wire/edge_auth.h"

#include "src/wire/digest.h"

namespace wire {

std::string new_nonce() { return random_hex(kNonceBytes); }
std::string new_edge_key() { return random_hex(kEdgeKeyBytes); }

// Distinct labels keep an answer from passing as an accept, and the newline
// separators keep one field's end from sliding into the next.
std::string answer_mac(const std::string& key, const std::string& receiver_nonce, const std::string& sender_nonce) {
  return hmac_sha256_hex(key, "treesync edge answer\n" + receiver_nonce + "\n" + sender_nonce);
}

std::string accept_mac(const std::string& key, const std::string& receiver_nonce, const std::string& sender_nonce,
                       std::uint64_t offset) {
  return hmac_sha256_hex(key, "treesync edge accept\n" + receiver_nonce + "\n" + sender_nonce + "\n" +
                                  std::to_string(offset));
}

std::string share_mac(const std::string& secret, const std::string& nonce) {
  return hmac_sha256_hex(secret, "treesync relay share\n" + nonce);
}

}  // namespace wire
