#include "relay/relay_share.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "src/wire/digest.h"
#include "src/wire/edge_auth.h"

namespace relay {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxLine = 128;  // "NONCE MAC\n" is 98 bytes
constexpr std::size_t kSendSlice = 256 << 10;

bool lower_hex(const std::string& s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

RelayShare::RelayShare(const std::string& ip, std::string secret, std::string binary, OnRefused on_refused)
    : secret_(std::move(secret)), binary_(std::move(binary)), on_refused_(std::move(on_refused)) {
  listener_ = wire::listen_tcp(ip, &port_);
  thread_ = std::thread([this] { loop(); });
}

RelayShare::~RelayShare() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RelayShare::loop() {
  while (!stop_) {
    std::vector<pollfd> fds{{listener_.fd(), POLLIN, 0}};
    for (const Fetch& f : fetches_) fds.push_back({f.sock.fd(), static_cast<short>(f.sending ? POLLOUT : POLLIN), 0});
    if (::poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) return;
    // Connections first: one accepted below may push out the oldest.
    std::vector<Fetch> kept;
    const auto now = Clock::now();
    for (std::size_t i = 0; i < fetches_.size(); ++i) {
      Fetch& f = fetches_[i];
      if (now > f.deadline) {
        refuse(f, f.sending ? "took nothing for " + std::to_string(kShareStuckMs / 1000) + " s"
                            : "no token within " + std::to_string(kShareLineMs / 1000) + " s");
        continue;
      }
      if (step(f, fds[i + 1].revents)) kept.push_back(std::move(f));
    }
    fetches_.swap(kept);
    if (fds[0].revents & POLLIN) accept_one();
  }
}

void RelayShare::accept_one() {
  wire::Socket s = wire::accept_tcp(listener_);
  if (!s) return;
  ::fcntl(s.fd(), F_SETFL, ::fcntl(s.fd(), F_GETFL) | O_NONBLOCK);
  if (fetches_.size() >= static_cast<std::size_t>(kMaxShareConnections)) {
    // Room goes to the newcomer at the cost of the oldest still reading its
    // line: idle connections cannot lock the real fetches out, and a fetch
    // already sending is never cut for a stranger.
    auto oldest = std::find_if(fetches_.begin(), fetches_.end(), [](const Fetch& f) { return !f.sending; });
    if (oldest == fetches_.end()) {
      on_refused_(wire::peer_address(s), "relay share: too many fetches at once");
      return;
    }
    refuse(*oldest, "too many connections at once");
    fetches_.erase(oldest);
  }
  Fetch f;
  f.peer = wire::peer_address(s);
  f.sock = std::move(s);
  f.deadline = Clock::now() + std::chrono::milliseconds(kShareLineMs);
  fetches_.push_back(std::move(f));
}

bool RelayShare::step(Fetch& f, short events) {
  if (!f.sending) {
    if (!(events & (POLLIN | POLLHUP | POLLERR))) return true;
    char buf[kMaxLine];
    ssize_t n = ::recv(f.sock.fd(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n <= 0) {
      refuse(f, "closed before its token");
      return false;
    }
    f.line.append(buf, static_cast<std::size_t>(n));
    if (f.line.find('\n') == std::string::npos) {
      if (f.line.size() < kMaxLine) return true;
      refuse(f, "sent no token line");
      return false;
    }
    if (!take_line(f)) return false;
    f.sending = true;
    f.deadline = Clock::now() + std::chrono::milliseconds(kShareStuckMs);
    return true;
  }
  if (events & (POLLERR | POLLHUP)) return false;  // it went away: nothing to report
  if (!(events & POLLOUT)) return true;
  const std::size_t n = std::min(kSendSlice, binary_.size() - f.sent);
  ssize_t w = ::send(f.sock.fd(), binary_.data() + f.sent, n, MSG_NOSIGNAL);
  if (w < 0) return errno == EAGAIN || errno == EINTR;
  f.sent += static_cast<std::size_t>(w);
  f.deadline = Clock::now() + std::chrono::milliseconds(kShareStuckMs);
  return f.sent < binary_.size();  // done: closing the socket ends the fetch
}

bool RelayShare::take_line(Fetch& f) {
  const std::string line = f.line.substr(0, f.line.find('\n'));
  const std::size_t space = line.find(' ');
  const std::string nonce = line.substr(0, space);
  const std::string mac = space == std::string::npos ? "" : line.substr(space + 1);
  if (f.line.size() != line.size() + 1 || !lower_hex(nonce, 2 * wire::kNonceBytes) || !lower_hex(mac, 64)) {
    refuse(f, "sent a malformed token");
    return false;
  }
  if (!wire::same_secret(mac, wire::share_mac(secret_, nonce))) {
    refuse(f, "showed a token the source did not mint");
    return false;
  }
  if (!used_.insert(nonce).second) {
    refuse(f, "showed a token already used");
    return false;
  }
  return true;
}

void RelayShare::refuse(Fetch& f, const std::string& why) {
  on_refused_(f.peer, "relay share: " + why);
  f.sock = wire::Socket();
}

}  // namespace relay
