// A data edge over SSH, for a node whose relay port the source cannot reach
// by TCP (a firewall that lets only SSH through): each connection is one
// end of a socket pair whose other end a thread carries to the relay's port
// over a direct-tcpip channel of an SSH session of the tunnel's own. No
// port is opened on the source, so nobody else there can use the route.
// The same wire::Sender runs over it, handshake and all: the tunnel adds a
// route, not a trust.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "src/ssh/ssh.h"
#include "src/wire/net.h"

namespace treesync {

class Tunnel {
 public:
  // Logs in (throws NodeError as SshSession does) and starts its thread.
  Tunnel(const SshConfig& ssh, std::string relay_ip, int relay_port);
  ~Tunnel();  // stops the pump and closes the session
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // A new connection to the relay's port; carried once the one before it
  // has closed (one sender at a time uses an edge).
  wire::Socket open();

 private:
  void serve();                      // carries one connection after another
  void carry(wire::Socket& local);   // pumps one connection both ways until either end closes

  std::unique_ptr<SshSession> session_;
  std::string relay_ip_;
  int relay_port_;
  std::mutex mu_;
  std::condition_variable queued_;
  std::deque<wire::Socket> waiting_;  // our ends of connections not yet carried
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace treesync
