// Plain TCP for the data plane between relays (and from the source in tree
// mode). Numeric addresses only: the static relay must not touch NSS.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "src/wire/protocol.h"

namespace wire {

// Writes all n bytes to a pipe or socket, retrying after signals; false on
// any other error. Both binaries ignore SIGPIPE, so a closed peer is an error.
bool write_fully(int fd, const char* data, std::size_t n);

// An owned socket descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept;
  int fd() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // The descriptor, now the caller's to close.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Wakes up any thread blocked on this socket; it then sees an error.
  void shutdown();

  bool write_all(const char* data, std::size_t n);
  bool write_all(const std::string& bytes) { return write_all(bytes.data(), bytes.size()); }
  // Writes all of a small message at once or nothing, without waiting: for
  // a thread that must not block on a peer that does not read.
  bool try_write(const std::string& bytes);
  // Reads until one whole frame is there; nullopt on EOF, error or timeout,
  // with *closed telling EOF and errors from a timeout. The deadline is
  // absolute: a peer trickling a byte at a time does not extend it.
  std::optional<Frame> read_frame(FrameReader& reader, int timeout_ms, bool* closed = nullptr);
  std::optional<Frame> read_frame_until(FrameReader& reader, std::chrono::steady_clock::time_point deadline,
                                        bool* closed = nullptr);

 private:
  int fd_ = -1;
};

// Listens on ip (port 0: any free port); returns the socket and the port.
Socket listen_tcp(const std::string& ip, int* port);
Socket accept_tcp(const Socket& listener);
// Throws wire::Error naming the address on failure. With `cancel`, gives
// up within 100 ms of it turning true (a relay told to stop must not wait
// out a connect to a dead child).
Socket connect_tcp(const std::string& ip, int port, int timeout_ms, const std::atomic<bool>* cancel = nullptr);
std::string peer_address(const Socket& s);

}  // namespace wire
