#include "src/wire/forwarder.h"

#include <algorithm>
#include <vector>

namespace wire {
namespace {

constexpr int kConnectTimeoutMs = 10000;
constexpr int kReplyTimeoutMs = 30000;
// After the last byte, how long to wait for the child to close or ask again.
constexpr int kFinalAckTimeoutMs = 120000;

}  // namespace

bool same_token(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Forwarder::Forwarder(Target target, std::string token, std::uint64_t size, Reader reader, Done done)
    : target_(std::move(target)), token_(std::move(token)), size_(size), reader_(std::move(reader)),
      done_(std::move(done)) {}

Forwarder::~Forwarder() {
  cancel();
  join();
}

void Forwarder::start() { thread_ = std::thread([this] { run(); }); }

void Forwarder::cancel() {
  cancelled_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  sock_.shutdown();
}

void Forwarder::join() {
  if (thread_.joinable()) thread_.join();
}

std::string Forwarder::error() const {
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(mu_));
  return error_;
}

void Forwarder::run() {
  try {
    stream();
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

void Forwarder::stream() {
  const std::string where = target_.name + " (" + target_.address + ":" + std::to_string(target_.port) + ")";
  {
    Socket s = connect_tcp(target_.address, target_.port, kConnectTimeoutMs);
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) throw Error("cancelled");
    sock_ = std::move(s);
  }
  if (!sock_.send_message({{"type", "hello"}, {"token", token_}})) throw Error("lost connection to " + where);
  FrameReader in;
  bool closed = false;
  auto reply = sock_.read_frame(in, kReplyTimeoutMs, &closed);
  if (!reply || reply->kind != Kind::Message || reply->json().value("type", "") != "resume")
    throw Error(where + " did not accept the connection");
  std::uint64_t offset = reply->json().value("offset", std::uint64_t{0});

  std::vector<char> buf(kChunkSize);
  for (;;) {
    while (offset < size_) {
      if (cancelled_) throw Error("cancelled");
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - offset));
      std::size_t n = reader_(offset, buf.data(), want);
      if (n == 0) throw Error("archive ended early at offset " + std::to_string(offset));
      std::string_view bytes(buf.data(), n);
      std::string header = encode_data_header(offset, bytes);
      test_corrupt(offset, buf.data(), n);
      if (!sock_.write_all(header.data(), header.size()) || !sock_.write_all(bytes.data(), bytes.size()))
        throw Error("lost connection to " + where + " at offset " + std::to_string(offset));
      offset += n;
      sent_ += n;
      if (auto again = sock_.read_frame(in, 0, &closed)) offset = again->json().value("offset", offset);
      if (closed && offset < size_) throw Error(where + " closed the connection at offset " + std::to_string(offset));
    }
    // Everything is sent: the child closes once it has verified it all, or
    // asks again for what failed its check.
    auto again = sock_.read_frame(in, kFinalAckTimeoutMs, &closed);
    if (again) {
      offset = again->json().value("offset", offset);
      continue;
    }
    if (closed) return;
    throw Error(where + " did not confirm the end of the archive");
  }
}

}  // namespace wire
