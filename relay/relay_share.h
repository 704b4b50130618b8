// The relay lends its own binary to the nodes of the run that lack it, so
// the source ships each relay to a few nodes and the rest fetch it from
// those (docs/protocol.md, "Relays that travel"). Anyone on the node's
// network can reach this port, so a fetch must show, in one line within
// kShareLineMs, a token the source minted for it from our secret
// (wire::share_mac), each token good once; at most kMaxShareConnections
// at once (past that the oldest still reading its line is dropped); a
// fetch that takes no bytes for kShareStuckMs is dropped. What it gets is
// public (the relay), and the fetching node checks its SHA-256 anyway: the
// token keeps strangers from using the node's uplink. One thread, poll().
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "src/wire/net.h"

namespace relay {

constexpr int kMaxShareConnections = 16;
constexpr int kShareLineMs = 5000;
constexpr int kShareStuckMs = 30000;

class RelayShare {
 public:
  using OnRefused = std::function<void(const std::string& peer, const std::string& reason)>;

  // Listens on ip (any free port) and lends `binary`; throws if it cannot listen.
  RelayShare(const std::string& ip, std::string secret, std::string binary, OnRefused on_refused);
  ~RelayShare();  // stops lending, closes every connection, joins its thread
  RelayShare(const RelayShare&) = delete;
  RelayShare& operator=(const RelayShare&) = delete;

  int port() const { return port_; }

 private:
  struct Fetch {
    wire::Socket sock;
    std::string peer;
    std::string line;         // what it sent of its token line
    std::size_t sent = 0;     // of the binary; counts once the token held
    bool sending = false;
    std::chrono::steady_clock::time_point deadline;  // for the line, then for progress
  };
  void loop();
  void accept_one();
  // False once the connection is done with (served, refused or dropped).
  bool step(Fetch& f, short events);
  bool take_line(Fetch& f);  // false (refused) if the token does not hold
  void refuse(Fetch& f, const std::string& why);

  std::string secret_;
  std::string binary_;
  OnRefused on_refused_;
  int port_ = 0;
  wire::Socket listener_;
  std::vector<Fetch> fetches_;  // oldest first; the loop's thread alone
  std::set<std::string> used_;  // nonces already served
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace relay
