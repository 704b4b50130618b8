#include "src/ssh/handshake_gate.h"

#include <algorithm>

namespace treesync {

void HandshakeGate::enter() {
  std::unique_lock<std::mutex> lock(mu_);
  free_.wait(lock, [this] { return inside_ < limit_; });
  ++inside_;
  peak_ = std::max(peak_, inside_);
}

void HandshakeGate::leave() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --inside_;
  }
  free_.notify_one();
}

std::size_t HandshakeGate::peak() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

HandshakeGate& handshake_gate() {
  static HandshakeGate gate(kHandshakesInFlight);
  return gate;
}

}  // namespace treesync
