#include "src/ssh/tunnel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

#include "src/errors.h"

namespace treesync {
namespace {

constexpr int kPollMs = 100;

}  // namespace

Tunnel::Tunnel(const SshConfig& ssh, std::string ip, int port)
    : Tunnel(std::make_unique<SshSession>(ssh), std::move(ip), port) {}

Tunnel::Tunnel(std::unique_ptr<SshSession> session, std::string ip, int port)
    : session_(std::move(session)), ip_(std::move(ip)), port_(port) {
  thread_ = std::thread([this] { serve(); });
}

std::string Tunnel::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

Tunnel::~Tunnel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  queued_.notify_all();
  if (thread_.joinable()) thread_.join();
}

wire::Socket Tunnel::open() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw wire::Error(std::string("socketpair: ") + std::strerror(errno));
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_.emplace_back(fds[1]);
  }
  queued_.notify_all();
  return wire::Socket(fds[0]);
}

void Tunnel::serve() {
  for (;;) {
    wire::Socket local;
    {
      std::unique_lock<std::mutex> lock(mu_);
      queued_.wait(lock, [this] { return stop_ || !waiting_.empty(); });
      if (stop_) return;
      local = std::move(waiting_.front());
      waiting_.pop_front();
    }
    try {
      carry(local);
    } catch (const std::exception& e) {
      spdlog::debug("ssh tunnel to {}:{}: {}", ip_, port_, e.what());
      std::lock_guard<std::mutex> lock(mu_);  // before `local` closes: whoever sees it close may ask
      failure_ = e.what();
    }
  }
}

// Non-blocking both ways in one thread: a libssh2 session is one thread's.
void Tunnel::carry(wire::Socket& local) {
  LIBSSH2_SESSION* s = session_->raw();
  libssh2_session_set_blocking(s, 1);
  session_->set_timeout_ms(10000);
  LIBSSH2_CHANNEL* ch = libssh2_channel_direct_tcpip_ex(s, ip_.c_str(), port_, "127.0.0.1", 0);
  if (!ch)
    throw NodeError("send", session_->name() + " would not forward to " + ip_ + ":" + std::to_string(port_) + " (" +
                                session_->last_error() + ")");
  libssh2_session_set_blocking(s, 0);
  std::string up, down;  // bytes read from one side, not yet written to the other
  bool local_eof = false, remote_eof = false, eof_sent = false;
  char buf[1 << 16];
  auto stopping = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  };
  while (!stopping() && !(remote_eof && down.empty())) {
    pollfd p[2] = {{local.fd(), static_cast<short>((local_eof || up.size() > sizeof buf ? 0 : POLLIN) |
                                                   (down.empty() ? 0 : POLLOUT)), 0},
                   {session_->socket_fd(), 0, 0}};
    int dirs = libssh2_session_block_directions(s);
    // Read the far end only while `down` has room: unread, the channel's
    // window closes and the far end must wait, as a TCP peer would.
    const bool room = down.size() <= sizeof buf;
    if (room || (dirs & LIBSSH2_SESSION_BLOCK_INBOUND)) p[1].events |= POLLIN;
    if ((dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) || !up.empty()) p[1].events |= POLLOUT;
    ::poll(p, 2, kPollMs);
    if (!local_eof && up.size() <= sizeof buf) {
      ssize_t n = ::recv(local.fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) up.append(buf, static_cast<std::size_t>(n));
      else if (n == 0 || (errno != EAGAIN && errno != EINTR)) local_eof = true;
    }
    while (!up.empty()) {
      ssize_t n = libssh2_channel_write(ch, up.data(), up.size());
      if (n == LIBSSH2_ERROR_EAGAIN) break;
      if (n < 0) throw NodeError("send", "ssh tunnel lost: " + session_->last_error());
      up.erase(0, static_cast<std::size_t>(n));
    }
    if (local_eof && up.empty() && !eof_sent) eof_sent = libssh2_channel_send_eof(ch) == 0;
    while (down.size() <= sizeof buf) {
      ssize_t n = libssh2_channel_read(ch, buf, sizeof buf);
      if (n == LIBSSH2_ERROR_EAGAIN) break;
      if (n < 0) throw NodeError("send", "ssh tunnel lost: " + session_->last_error());
      if (n == 0) {
        remote_eof = libssh2_channel_eof(ch) != 0;
        break;
      }
      down.append(buf, static_cast<std::size_t>(n));
    }
    if (!down.empty()) {
      ssize_t n = ::send(local.fd(), down.data(), down.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) down.erase(0, static_cast<std::size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR) break;
    }
  }
  local.shutdown();
  libssh2_session_set_blocking(s, 1);
  libssh2_channel_close(ch);
  libssh2_channel_free(ch);
}

}  // namespace treesync
