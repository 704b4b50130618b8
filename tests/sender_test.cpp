// A real wire::Sender against a receiver written here, over loopback TCP:
// the receiver does what a relay's listener and serve_parent do (challenge,
// check the answer, accept with its own proof and an offset, check every
// chunk's XXH3, ask to go back) and records what arrived.
#include <catch2/catch.hpp>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "src/wire/digest.h"
#include "src/wire/edge_auth.h"
#include "src/wire/messages.h"
#include "src/wire/net.h"
#include "src/wire/rate_limiter.h"
#include "src/wire/sender.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(&out[i], &v, std::min<std::size_t>(8, n - i));
  }
  return out;
}

wire::ByteReader reader_of(const std::string& data) {
  return [&data](std::uint64_t offset, char* buf, std::size_t n) -> std::size_t {
    if (offset >= data.size()) return 0;
    std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, data.size() - offset));
    std::memcpy(buf, data.data() + offset, k);
    return k;
  };
}

struct Script {
  std::string key;             // the key the receiver holds
  bool check_answer = true;    // close on a sender that does not prove the key (as the relay does)
  std::uint64_t accept_at = 0; // where it says its spool ends
  int refuse_first = 0;        // connections it closes right after the challenge
  // Once it holds at least `resume_when` bytes it drops what it holds past
  // `resume_to` and asks for it again, once (0: never).
  std::uint64_t resume_when = 0, resume_to = 0;
};

struct Log {
  int connections = 0;
  int answers_proved = 0;     // answers whose MAC proved the receiver's key
  std::string buffer;         // the stream as received
  std::vector<std::uint64_t> offsets;  // of every data frame, stale ones included
  std::uint64_t data_bytes = 0;        // in every data frame
  std::uint64_t bad_hashes = 0;        // frames whose XXH3 did not match
  std::size_t largest = 0;             // the largest data frame's payload
  std::uint64_t held_at_resume = 0;    // bytes held when it asked to go back
  bool complete = false;
  std::string error;
};

class TestReceiver {
 public:
  // `data` is the stream the sender sends; the receiver holds its first
  // `script.accept_at` bytes already.
  TestReceiver(Script script, const std::string& data)
      : script_(std::move(script)), data_(data), listener_(wire::listen_tcp("127.0.0.1", &port_)) {
    thread_ = std::thread([this] {
      try {
        run();
      } catch (const std::exception& e) {
        log_.error = e.what();
      }
    });
  }
  ~TestReceiver() { stop(); }

  wire::Target target() const { return {"test-receiver", "127.0.0.1", port_}; }
  // Stops taking connections and returns what happened (a receiver that
  // got the whole stream has stopped already).
  const Log& stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    return log_;
  }

 private:
  void run() {
    const auto give_up = Clock::now() + std::chrono::seconds(20);
    while (!stopping_ && Clock::now() < give_up) {
      pollfd p{listener_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      wire::Socket s = wire::accept_tcp(listener_);
      if (!s) continue;
      ++log_.connections;
      if (serve(s)) return;
    }
  }

  // One connection; true once the stream is complete.
  bool serve(wire::Socket& s) {
    wire::FrameReader in(wire::kMaxHandshakeFrame);
    const std::string nonce = wire::new_nonce();
    if (!s.write_all(wire::encode(wire::Challenge{nonce}))) return false;
    if (log_.connections <= script_.refuse_first) return false;  // closes
    auto f = s.read_frame(in, 5000);
    if (!f) return false;
    auto answer = wire::from_message<wire::Answer>(f->json());
    bool proved = wire::same_secret(answer.mac, wire::answer_mac(script_.key, nonce, answer.nonce));
    log_.answers_proved += proved;
    if (script_.check_answer && !proved) return false;
    const std::uint64_t at = script_.accept_at;
    s.write_all(wire::encode(wire::Accept{at, wire::accept_mac(script_.key, nonce, answer.nonce, at)}));
    in.set_max_frame(wire::kMaxDataFrame);
    log_.buffer = data_.substr(0, at);
    return receive(s, in);
  }

  bool receive(wire::Socket& s, wire::FrameReader& in) {
    bool asked = false;
    while (log_.buffer.size() < data_.size()) {
      bool closed = false;
      auto f = s.read_frame(in, 5000, &closed);
      if (!f) {
        if (!closed) log_.error = "no data for 5 s";
        return false;
      }
      if (f->kind != wire::Kind::Data) throw wire::Error("the sender sent a message after the handshake");
      log_.offsets.push_back(f->offset);
      log_.data_bytes += f->body.size();
      log_.largest = std::max(log_.largest, f->body.size());
      // XXH3-64 computed here, not by the code under test.
      if (XXH3_64bits(f->body.data(), f->body.size()) != f->hash) {
        ++log_.bad_hashes;
        continue;
      }
      if (f->offset != log_.buffer.size()) continue;  // stale: sent before it heard our resume
      log_.buffer += f->body;
      if (script_.resume_when && !asked && log_.buffer.size() >= script_.resume_when) {
        asked = true;
        log_.held_at_resume = log_.buffer.size();
        log_.buffer.resize(script_.resume_to);
        s.write_all(wire::encode(wire::Resume{script_.resume_to}));
      }
    }
    log_.complete = true;
    return true;  // the socket closes: the sender's sign that all arrived
  }

  Script script_;
  const std::string& data_;
  int port_ = 0;
  wire::Socket listener_;
  std::atomic<bool> stopping_{false};
  Log log_;
  std::thread thread_;
};

const std::string kKey = wire::new_edge_key();

// What one edge did, both ends.
struct Edge {
  bool ok = false;
  std::string error;
  std::uint64_t sent = 0;
  Clock::duration took{};
  Log log;
};

// Streams `data` to a receiver that follows `script` and takes the stream to
// be `expected`, with the sender holding kKey; returns once both ends are done.
Edge run_edge(const Script& script, const std::string& data, const std::string& expected) {
  TestReceiver rx(script, expected);
  std::atomic<int> done_calls{0};
  Edge edge;
  const auto start = Clock::now();
  {
    wire::Sender sender(rx.target(), kKey, data.size(), reader_of(data), [&](const wire::Sender& s) {
      if (s.finished()) ++done_calls;
    });
    sender.start();
    sender.join();
    edge.took = Clock::now() - start;
    CHECK(sender.finished());
    edge.ok = sender.ok();
    edge.error = sender.error();
    edge.sent = sender.sent();
  }  // its socket closes
  CHECK(done_calls == 1);
  edge.log = rx.stop();
  INFO(edge.error << " / " << edge.log.error);
  CHECK(edge.log.error.empty());
  return edge;
}

Edge run_edge(const Script& script, const std::string& data) { return run_edge(script, data, data); }

}  // namespace

TEST_CASE("sender: a whole stream arrives byte-exact, in chunks with their XXH3") {
  const std::string data = random_bytes(3 * wire::kChunkSize + 12345, 1);
  Edge e = run_edge({kKey}, data);
  CHECK(e.ok);
  CHECK(e.log.complete);
  CHECK(e.log.connections == 1);
  CHECK(e.log.answers_proved == 1);
  CHECK(e.log.bad_hashes == 0);
  CHECK(e.log.buffer == data);
  CHECK(e.log.offsets == std::vector<std::uint64_t>{0, wire::kChunkSize, 2 * wire::kChunkSize, 3 * wire::kChunkSize});
  CHECK(e.log.largest == wire::kChunkSize);
  CHECK(e.sent == data.size());
}

TEST_CASE("sender: it starts where the receiver's spool ends") {
  const std::string data = random_bytes(2 * wire::kChunkSize + 999, 2);
  Script script{kKey};
  script.accept_at = wire::kChunkSize + 777;
  Edge e = run_edge(script, data);
  CHECK(e.ok);
  CHECK(e.log.buffer == data);
  REQUIRE_FALSE(e.log.offsets.empty());
  CHECK(e.log.offsets.front() == script.accept_at);
  CHECK(e.log.data_bytes == data.size() - script.accept_at);
  CHECK(e.sent == data.size() - script.accept_at);
}

TEST_CASE("sender: a receiver that holds everything gets nothing and ends the edge") {
  const std::string data = random_bytes(100000, 3);
  Script script{kKey};
  script.accept_at = data.size();
  Edge e = run_edge(script, data);
  CHECK(e.ok);
  CHECK(e.log.complete);
  CHECK(e.log.data_bytes == 0);
  CHECK(e.sent == 0);
}

TEST_CASE("sender: asked mid-stream to go back, it resends from there and counts the resend") {
  const std::string data = random_bytes(4 * wire::kChunkSize + 4321, 4);
  Script script{kKey};
  script.resume_when = 2 * wire::kChunkSize;
  script.resume_to = wire::kChunkSize / 2 + 5;  // inside the first chunk
  Edge e = run_edge(script, data);
  CHECK(e.ok);
  CHECK(e.log.buffer == data);
  CHECK(e.log.bad_hashes == 0);
  CHECK(std::count(e.log.offsets.begin(), e.log.offsets.end(), script.resume_to) == 1);
  // Everything it wrote arrived (the resend last), and that is at least
  // what was held when it was asked, plus all from the resume offset on.
  CHECK(e.sent == e.log.data_bytes);
  CHECK(e.sent >= e.log.held_at_resume + (data.size() - script.resume_to));
}

TEST_CASE("sender: a receiver that cannot prove the edge's key gets no byte") {
  const std::string data = random_bytes(wire::kChunkSize + 1, 5);
  Script script{wire::new_edge_key()};  // another key ...
  script.check_answer = false;          // ... and it accepts whatever the sender says
  Edge e = run_edge(script, data);
  CHECK_FALSE(e.ok);
  CHECK_THAT(e.error, Catch::Contains("could not prove"));
  CHECK(e.sent == 0);
  CHECK(e.log.answers_proved == 0);
  CHECK(e.log.data_bytes == 0);
  // A receiver that answers without the key is not one that does not know
  // it yet: trying again cannot help.
  CHECK(e.log.connections == 1);
  CHECK(e.took < std::chrono::seconds(2));
}

TEST_CASE("sender: a receiver that refuses at first (it does not know the key yet) is tried again") {
  const std::string data = random_bytes(wire::kChunkSize / 3, 6);
  Script script{kKey};
  script.refuse_first = 3;  // 0.25 + 0.5 + 1 s of backoff
  Edge e = run_edge(script, data);
  CHECK(e.ok);
  CHECK(e.log.connections == 4);
  CHECK(e.log.answers_proved == 1);
  CHECK(e.log.buffer == data);
  CHECK(e.sent == data.size());
}

TEST_CASE("sender: a receiver that asks for an offset past the end is refused") {
  const std::string data = random_bytes(1000, 7);
  Script script{kKey};
  script.accept_at = data.size() + 1;  // the receiver thinks the stream is longer
  Edge e = run_edge(script, data, data + "x");
  CHECK_FALSE(e.ok);
  CHECK_THAT(e.error, Catch::Contains("past the end"));
  CHECK(e.sent == 0);
  CHECK(e.log.data_bytes == 0);
  CHECK(e.log.connections == 1);
}

TEST_CASE("sender: a host's senders share its cap, counted on the wire, and still deliver byte-exact") {
  // Two edges of 3 MiB each under one 80 Mbit/s bucket (10 MB/s on the wire):
  // together they take the time of 6 MiB plus the TCP/IP/Ethernet headers
  // (1514 bytes a frame for 1448 of payload) and the chunk headers.
  const std::string a = random_bytes(3 * wire::kChunkSize, 21), b = random_bytes(3 * wire::kChunkSize, 22);
  auto limiter = std::make_shared<wire::RateLimiter>(80000000);
  TestReceiver rx_a({kKey}, a), rx_b({kKey}, b);
  wire::Sender to_a(rx_a.target(), kKey, a.size(), reader_of(a)), to_b(rx_b.target(), kKey, b.size(), reader_of(b));
  to_a.limit(limiter);
  to_b.limit(limiter);
  const auto start = Clock::now();
  to_a.start();
  to_b.start();
  to_a.join();
  to_b.join();
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  CHECK(to_a.ok());
  CHECK(to_b.ok());
  CHECK(rx_a.stop().buffer == a);
  CHECK(rx_b.stop().buffer == b);
  const double wire_seconds = static_cast<double>(wire::wire_bytes(a.size() + b.size())) / 10e6;
  INFO("took " << took << " s; the cap alone allows " << wire_seconds << " s");
  CHECK(wire_seconds == Approx(0.6588).epsilon(0.01));
  // No more than one slice ahead of the cap, and not much slower than it.
  CHECK(took >= wire_seconds - 2.0 * wire::RateLimiter::kSlice / 10e6);
  CHECK(took <= wire_seconds * 1.3);
}

TEST_CASE("rate limiter: takes pace the bytes at the cap, and a cancel ends a wait at once") {
  wire::RateLimiter limiter(8000000);  // 1 MB/s
  std::atomic<bool> cancelled{false};
  const auto start = Clock::now();
  for (int i = 0; i < 5; ++i) CHECK(limiter.take(100000, cancelled));  // 0.5 MB: the last waits 0.4 s
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  CHECK(took >= 0.39);
  CHECK(took < 0.6);
  // Ten seconds of debt: a cancelled wait returns false within its 50 ms slice.
  CHECK(limiter.take(10000000, cancelled));
  std::thread stop([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancelled = true;
  });
  const auto wait = Clock::now();
  CHECK_FALSE(limiter.take(1000, cancelled));
  stop.join();
  CHECK(std::chrono::duration<double>(Clock::now() - wait).count() < 0.5);
}

TEST_CASE("rate limiter: the wire cost counts a 1514-byte frame per 1448 bytes of payload") {
  CHECK(wire::wire_bytes(0) == 0);
  CHECK(wire::wire_bytes(1448) == 1514);
  CHECK(wire::wire_bytes(1448 * 1000) == 1514 * 1000);
  CHECK(wire::wire_bytes(1) == 2);  // rounded up: never under the cap
  CHECK(wire::payload_rate(1514 * 8) == Approx(1448));
}
