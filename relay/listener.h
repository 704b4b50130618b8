// The relay's data port. Anyone on the node's network can reach it
// (containers and other tenants included), so everything a peer can make
// the relay do before it has proved it holds the edge key is bounded: at
// most kMaxPending connections in the handshake at once (past that the
// oldest is dropped, so idle connections cannot lock the real parent out:
// its handshake takes one round trip), kHandshakeMs to finish whatever the
// peer trickles, a few KiB to say it in, every error caught on the
// connection's own thread, and every thread joined. No cap per address:
// containers behind NAT share their node's address with a real parent.
// Only a peer that answers the challenge with a key the source gave us
// (wire/edge_auth.h), one per stripe of the stream, is handed on, with the
// stripe its key is for.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/wire/net.h"
#include "src/wire/protocol.h"

namespace relay {

constexpr int kMaxPending = 8;
constexpr int kHandshakeMs = 5000;

class Listener {
 public:
  // Runs on the connection's thread once the peer is authenticated; returns
  // when the peer is done or replaced. `reader` holds what it sent so far;
  // `accepted` is the offset the peer was told to start from (in its
  // stripe), `key` the key it proved (the source may have named another
  // since), `stripe` the stripe that key is for.
  using OnParent = std::function<void(wire::Socket& sock, const std::string& peer, wire::FrameReader& reader,
                                      std::uint64_t accepted, const std::string& key, int stripe)>;
  using OnRefused = std::function<void(const std::string& peer, const std::string& reason)>;
  // Where a stripe's spool ends, for the accept message.
  using Offset = std::function<std::uint64_t(int stripe)>;

  // keys: the first parent's of each stripe. Throws if two stripes share one.
  Listener(const std::string& ip, std::vector<std::string> keys, Offset offset, OnParent on_parent,
           OnRefused on_refused);
  ~Listener();  // close()
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const { return port_; }
  // From now on only a peer with this key is accepted for the stripe ("":
  // nobody); throws if another stripe has it.
  void expect(int stripe, std::string key);
  std::string key(int stripe);
  // Stops accepting, wakes every connection (authenticated or not) and
  // joins every thread.
  void close();

 private:
  struct Connection {
    wire::Socket sock;
    std::string peer;
    std::thread thread;
    bool pending = true;  // in the handshake; mu_
    std::atomic<bool> done{false};
  };
  void accept_loop();
  void serve(Connection& c);
  // The handshake; returns true if the peer proved the current key.
  bool authenticate(wire::Socket& sock, wire::FrameReader& in, std::uint64_t* accepted, std::string* key,
                    int* stripe, std::string* why);
  void reap();  // joins finished connections; mu_ held
  // Makes room for one more connection in the handshake; mu_ held.
  void admit();

  int port_ = 0;
  wire::Socket listener_;
  Offset offset_;
  OnParent on_parent_;
  OnRefused on_refused_;
  std::thread acceptor_;
  std::atomic<bool> closing_{false};
  std::mutex mu_;  // guards everything below
  std::vector<std::string> keys_;  // per stripe
  std::list<std::unique_ptr<Connection>> connections_;  // oldest first
};

}  // namespace relay
