#include "src/wire/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>


namespace wire {
namespace {

// Fills a sockaddr for a numeric IPv4 or IPv6 address.
socklen_t make_address(const std::string& ip, int port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    return sizeof *v4;
  }
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    return sizeof *v6;
  }
  throw Error("'" + ip + "' is not a numeric IP address");
}

void tune(int fd) {
  int one = 1, buf = 4 << 20;
  unsigned int user_timeout = 30000;  // a peer gone mid-write fails in 30 s
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
}

}  // namespace

bool write_fully(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool Socket::try_write(const std::string& bytes) {
  ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  return n == static_cast<ssize_t>(bytes.size());
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void Socket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

bool Socket::write_all(const char* data, std::size_t n) { return write_fully(fd_, data, n); }

std::optional<Frame> Socket::read_frame(FrameReader& reader, int timeout_ms, bool* closed) {
  return read_frame_until(reader, std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms), closed);
}

std::optional<Frame> Socket::read_frame_until(FrameReader& reader, std::chrono::steady_clock::time_point deadline,
                                              bool* closed) {
  char buf[1 << 16];
  if (closed) *closed = false;
  for (;;) {
    if (auto f = reader.next()) return f;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (closed) *closed = true;
      return std::nullopt;
    }
    reader.feed(buf, static_cast<std::size_t>(n));
  }
}

Socket listen_tcp(const std::string& ip, int* port) {
  sockaddr_storage addr;
  socklen_t len = make_address(ip, 0, &addr);
  Socket s(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!s || ::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(s.fd(), 16) != 0)
    throw Error("cannot listen on " + ip + ": " + std::strerror(errno));
  len = sizeof addr;
  getsockname(s.fd(), reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return s;
}

Socket accept_tcp(const Socket& listener) {
  for (;;) {
    int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      tune(fd);
      return Socket(fd);
    }
    if (errno != EINTR && errno != ECONNABORTED) return Socket();
  }
}

Socket connect_tcp(const std::string& ip, int port, int timeout_ms, const std::atomic<bool>* cancel) {
  sockaddr_storage addr;
  socklen_t len = make_address(ip, port, &addr);
  Socket s(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int err = 0;
  if (::connect(s.fd(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    err = errno;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (err == EINPROGRESS) {
      if (cancel && *cancel) throw Error("cancelled");
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        err = ETIMEDOUT;
        break;
      }
      pollfd p{s.fd(), POLLOUT, 0};
      socklen_t elen = sizeof err;
      int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 100)));
      if (ready == 1) getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &elen);
    }
  }
  if (err != 0)
    throw Error("cannot connect to " + ip + ":" + std::to_string(port) + ": " + std::strerror(err));
  fcntl(s.fd(), F_SETFL, fcntl(s.fd(), F_GETFL) & ~O_NONBLOCK);
  tune(s.fd());
  return s;
}

std::string peer_address(const Socket& s) {
  sockaddr_storage addr;
  socklen_t len = sizeof addr;
  char text[INET6_ADDRSTRLEN] = "?";
  if (getpeername(s.fd(), reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    const void* a = addr.ss_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&addr)->sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr);
    inet_ntop(addr.ss_family, a, text, sizeof text);
  }
  return text;
}

}  // namespace wire
