// At most a fixed number of SSH logins (TCP connect, key exchange, host
// key, authentication) in flight at once, however many nodes a run reaches
// and however many workers it has: a run against a thousand hosts ramps up
// instead of sending a thousand SYNs and key exchanges in one burst.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace treesync {

// A counting gate: enter() waits while `limit` holders are inside.
class HandshakeGate {
 public:
  explicit HandshakeGate(std::size_t limit) : limit_(limit) {}

  class Slot {
   public:
    explicit Slot(HandshakeGate& gate) : gate_(gate) { gate_.enter(); }
    ~Slot() { gate_.leave(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    HandshakeGate& gate_;
  };

  std::size_t limit() const { return limit_; }
  std::size_t peak() const;  // the most holders inside at once so far

 private:
  void enter();
  void leave();

  const std::size_t limit_;
  mutable std::mutex mu_;
  std::condition_variable free_;
  std::size_t inside_ = 0, peak_ = 0;
};

// 8, below OpenSSH's MaxStartups 10:30:100, where an sshd starts dropping
// unauthenticated connections: every login through one jump host is one of
// that host's startups until it authenticates. At a few milliseconds of
// the source's CPU and a round trip or two each, 8 at once still open
// hundreds of sessions a second on a LAN.
constexpr std::size_t kHandshakesInFlight = 8;

// The process's gate, kHandshakesInFlight wide: every SshSession passes it.
HandshakeGate& handshake_gate();

}  // namespace treesync
