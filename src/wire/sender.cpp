#include "src/wire/sender.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "src/wire/digest.h"
#include "src/wire/edge_auth.h"
#include "src/wire/messages.h"

namespace wire {
namespace {

constexpr int kConnectTimeoutMs = 10000;
constexpr int kReplyTimeoutMs = 10000;
// After the last byte, how long to wait for the receiver to close or ask again.
constexpr int kFinalAckTimeoutMs = 120000;
constexpr int kMaxRetryPauseMs = 2000;

// A receiver that answered the handshake wrongly (no proof of the key, an
// offset past the end): unlike one that refused, it will not change its
// answer if we try again.
struct WrongAnswer : Error {
  using Error::Error;
};

template <typename M>
M read_message(Socket& sock, FrameReader& in, const std::string& where) {
  bool closed = false;
  auto f = sock.read_frame(in, kReplyTimeoutMs, &closed);
  if (!f) throw Error(where + (closed ? " closed the connection" : " did not answer") + " during the handshake");
  if (f->kind != Kind::Message) throw Error(where + " sent data during the handshake");
  return from_message<M>(f->json());
}

}  // namespace

Sender::Sender(Target target, std::string key, std::uint64_t size, Reader reader, Done done, Dial dial,
               int open_attempts)
    : target_(std::move(target)),
      where_(target_.name + " (" + target_.address + ":" + std::to_string(target_.port) + ")"),
      key_(std::move(key)), size_(size), reader_(std::move(reader)), done_(std::move(done)), dial_(std::move(dial)),
      open_attempts_(open_attempts) {
  if (!dial_) dial_ = [this] { return connect_tcp(target_.address, target_.port, kConnectTimeoutMs, &cancelled_); };
}

Sender::~Sender() {
  cancel();
  join();
}

void Sender::start() { thread_ = std::thread([this] { run(); }); }

void Sender::cancel() {
  cancelled_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  sock_.shutdown();
}

void Sender::join() {
  if (thread_.joinable()) thread_.join();
}

std::string Sender::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void Sender::run() {
  try {
    // The handshake's reader goes on into the stream: a resume the receiver
    // sent right after its accept must not be lost.
    FrameReader in(kMaxHandshakeFrame);
    std::uint64_t offset = open(in);
    stream(offset, in);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = cancelled_ ? "cancelled" : e.what();
  }
  finished_ = true;
  try {
    if (done_) done_(*this);
  } catch (...) {
  }
}

std::uint64_t Sender::open(FrameReader& in) {
  for (int attempt = 1, pause_ms = 250;; ++attempt, pause_ms = std::min(kMaxRetryPauseMs, pause_ms * 2)) {
    try {
      Socket s = dial_();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (cancelled_) throw Error("cancelled");
        sock_ = std::move(s);
      }
      in = FrameReader(kMaxHandshakeFrame);
      return handshake(in);
    } catch (const WrongAnswer&) {
      throw;
    } catch (const Error&) {
      if (cancelled_ || attempt == open_attempts_) throw;
    }
    // In slices, so that cancel() is felt at once.
    for (int waited = 0; waited < pause_ms && !cancelled_; waited += 50)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::uint64_t Sender::handshake(FrameReader& in) {
  Challenge challenge = read_message<Challenge>(sock_, in, where_);
  Answer answer{new_nonce(), ""};
  answer.mac = answer_mac(key_, challenge.nonce, answer.nonce);
  if (!sock_.write_all(encode(answer))) throw Error("lost connection to " + where_ + " during the handshake");
  Accept accept = read_message<Accept>(sock_, in, where_);
  // A receiver that cannot prove the key is not the node the source meant:
  // send it nothing.
  if (!same_secret(accept.mac, accept_mac(key_, challenge.nonce, answer.nonce, accept.offset)))
    throw WrongAnswer(where_ + " could not prove it holds the edge's key; sent nothing");
  if (accept.offset > size_) throw WrongAnswer(where_ + " asked to resume past the end of the stream");
  return accept.offset;
}

void Sender::stream(std::uint64_t offset, FrameReader& in) {
  bool closed = false;
  const PaceWatch watch(pace_.get(), sock_.fd());
  std::vector<char> buf(kChunkSize);
  auto take_resume = [&](const Frame& f) {
    Resume r = from_message<Resume>(f.json());
    if (r.offset > size_) throw Error(where_ + " asked to resume past the end of the stream");
    offset = r.offset;
  };
  for (;;) {
    while (offset < size_) {
      if (cancelled_) throw Error("cancelled");
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - offset));
      std::size_t n = reader_(offset, buf.data(), want);
      if (n == 0) throw Error("stream ended early at offset " + std::to_string(offset));
      std::string_view bytes(buf.data(), n);
      std::string header = encode_data_header(offset, bytes);
      test_corrupt(offset, buf.data(), n);
      if (!write(header.data(), header.size()) || !write(bytes.data(), bytes.size()))
        throw Error("lost connection to " + where_ + " at offset " + std::to_string(offset));
      offset += n;
      sent_ += n;
      if (auto again = sock_.read_frame(in, 0, &closed)) take_resume(*again);
      if (closed && offset < size_) throw Error(where_ + " closed the connection at offset " + std::to_string(offset));
    }
    // Everything is sent: the receiver closes once it has verified it all,
    // or asks again for what failed its check.
    auto again = sock_.read_frame(in, kFinalAckTimeoutMs, &closed);
    if (again) {
      take_resume(*again);
      continue;
    }
    if (closed) return;
    throw Error(where_ + " did not confirm the end of the stream");
  }
}

bool Sender::write(const char* bytes, std::size_t n) {
  if (!limiter_) return sock_.write_all(bytes, n);
  for (std::size_t at = 0; at < n;) {
    const std::size_t len = std::min(n - at, RateLimiter::kSlice);
    if (!limiter_->take(wire_bytes(len), cancelled_)) throw Error("cancelled");
    if (!sock_.write_all(bytes + at, len)) return false;
    at += len;
  }
  return true;
}

}  // namespace wire
