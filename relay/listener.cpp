#include "relay/listener.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "src/wire/digest.h"
#include "src/wire/edge_auth.h"
#include "src/wire/messages.h"

namespace relay {

namespace {

// The key a peer proves is what picks its stripe: a key two stripes share
// would feed only the last of them (every key is tried), and the other
// would wait for a parent that can never connect.
void check_distinct(const std::vector<std::string>& keys, std::size_t stripe, const std::string& key) {
  for (std::size_t s = 0; s < keys.size(); ++s)
    if (s != stripe && !key.empty() && keys[s] == key)
      throw std::runtime_error("stripes " + std::to_string(std::min(s, stripe)) + " and " +
                               std::to_string(std::max(s, stripe)) + " were given the same edge key");
}

}  // namespace

Listener::Listener(const std::string& ip, std::vector<std::string> keys, Offset offset, OnParent on_parent,
                   OnRefused on_refused)
    : offset_(std::move(offset)), on_parent_(std::move(on_parent)), on_refused_(std::move(on_refused)),
      keys_(std::move(keys)) {
  for (std::size_t s = 0; s < keys_.size(); ++s) check_distinct(keys_, s, keys_[s]);
  listener_ = wire::listen_tcp(ip, &port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

Listener::~Listener() { close(); }

void Listener::expect(int stripe, std::string key) {
  std::lock_guard<std::mutex> lock(mu_);
  check_distinct(keys_, static_cast<std::size_t>(stripe), key);
  keys_.at(static_cast<std::size_t>(stripe)) = std::move(key);
}

std::string Listener::key(int stripe) {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.at(static_cast<std::size_t>(stripe));
}

void Listener::close() {
  closing_ = true;
  listener_.shutdown();
  if (acceptor_.joinable()) acceptor_.join();
  std::list<std::unique_ptr<Connection>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : connections_) c->sock.shutdown();  // under mu_: a finishing thread closes its socket
    all.swap(connections_);
  }
  for (auto& c : all)
    if (c->thread.joinable()) c->thread.join();
}

void Listener::reap() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void Listener::admit() {
  int pending = 0;
  Connection* oldest = nullptr;
  for (auto& c : connections_) {
    if (!c->pending) continue;
    ++pending;
    if (!oldest) oldest = c.get();
  }
  if (pending < kMaxPending) return;
  oldest->sock.shutdown();  // its handshake fails; its thread ends
  oldest->pending = false;  // at once: its thread may not have run yet
}

void Listener::accept_loop() {
  while (!closing_) {
    // Poll so that a quiet port still reaps finished connections.
    pollfd p{listener_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) {
      std::lock_guard<std::mutex> lock(mu_);
      reap();
      continue;
    }
    wire::Socket s = wire::accept_tcp(listener_);
    if (!s) {
      if (closing_) return;
      continue;
    }
    const std::string peer = wire::peer_address(s);
    std::lock_guard<std::mutex> lock(mu_);
    reap();
    if (closing_) return;
    admit();
    connections_.push_back(std::make_unique<Connection>());
    Connection& c = *connections_.back();
    c.sock = std::move(s);
    c.peer = peer;
    c.thread = std::thread([this, &c] { serve(c); });
  }
}

void Listener::serve(Connection& c) {
  bool authenticated = false;
  try {
    wire::FrameReader in(wire::kMaxHandshakeFrame);
    std::string why, key;
    std::uint64_t accepted = 0;
    int stripe = 0;
    authenticated = authenticate(c.sock, in, &accepted, &key, &stripe, &why);
    {
      std::lock_guard<std::mutex> lock(mu_);
      c.pending = false;
    }
    if (!authenticated) {
      on_refused_(c.peer, why);
    } else if (!closing_) {
      in.set_max_frame(wire::kMaxDataFrame);
      on_parent_(c.sock, c.peer, in, accepted, key, stripe);
    }
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      c.pending = false;
    }
    if (!authenticated) on_refused_(c.peer, e.what());
  }
  // Closed here, not when the accept loop reaps the thread: an evicted or
  // refused connection must stop holding a descriptor at once.
  {
    std::lock_guard<std::mutex> lock(mu_);
    c.pending = false;
    c.sock = wire::Socket();
  }
  c.done = true;
}

bool Listener::authenticate(wire::Socket& sock, wire::FrameReader& in, std::uint64_t* accepted, std::string* key,
                            int* stripe, std::string* why) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kHandshakeMs);
  const std::string nonce = wire::new_nonce();
  if (!sock.write_all(wire::encode(wire::Challenge{nonce}))) {
    *why = "closed before the handshake";
    return false;
  }
  bool closed = false;
  auto frame = sock.read_frame_until(in, deadline, &closed);  // throws on a malformed or oversized frame
  if (!frame) {
    *why = closed ? "closed during the handshake" : "no answer within " + std::to_string(kHandshakeMs / 1000) + " s";
    return false;
  }
  if (frame->kind != wire::Kind::Message) {
    *why = "sent data before authenticating";
    return false;
  }
  wire::Answer answer = wire::from_message<wire::Answer>(frame->json());
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys = keys_;
  }
  // Every key is tried, whichever matches: the time taken tells nothing.
  *stripe = -1;
  for (std::size_t s = 0; s < keys.size(); ++s)
    if (!keys[s].empty() && wire::same_secret(answer.mac, wire::answer_mac(keys[s], nonce, answer.nonce)))
      *stripe = static_cast<int>(s);
  if (*stripe < 0) {
    *why = "did not prove the key of an edge the source assigned";
    return false;
  }
  *key = keys[static_cast<std::size_t>(*stripe)];
  *accepted = offset_(*stripe);
  return sock.write_all(wire::encode(wire::Accept{*accepted, wire::accept_mac(*key, nonce, answer.nonce, *accepted)})) ||
         (*why = "closed during the handshake", false);
}

}  // namespace relay
