// How the two ends of a data edge prove to each other that they hold the
// edge's key, which the source gave each of them over SSH, without sending
// it (docs/protocol.md, "Between relays"):
//   receiver -> sender  challenge {nonce R}
//   sender -> receiver  answer {nonce S, mac = HMAC(key, "answer" R S)}
//   receiver -> sender  accept {offset O, mac = HMAC(key, "accept" R S O)}
// Fresh nonces on both sides make a recorded exchange worthless.
#pragma once

#include <cstdint>
#include <string>

namespace wire {

constexpr std::size_t kNonceBytes = 16;
constexpr std::size_t kEdgeKeyBytes = 32;

std::string new_nonce();     // hex
std::string new_edge_key();  // hex

std::string answer_mac(const std::string& key, const std::string& receiver_nonce, const std::string& sender_nonce);
std::string accept_mac(const std::string& key, const std::string& receiver_nonce, const std::string& sender_nonce,
                       std::uint64_t offset);

// A relay lending its binary (messages.h, ShareRelay) hands it to whoever
// shows "NONCE MAC\n" with MAC = share_mac(secret, NONCE), once per NONCE:
// a line a shell can send, minted by the source for one fetch.
std::string share_mac(const std::string& secret, const std::string& nonce);

}  // namespace wire
