// A route over SSH to one host and port: each connection is one end of a
// socket pair whose other end a thread carries there over a direct-tcpip
// channel of an SSH session of the tunnel's own. No port is opened on the
// source, so nobody else there can use the route.
// Two uses: a data edge to a node's relay port that the source cannot
// reach by TCP (a firewall that lets only SSH through, a node behind a
// jump host), where the same wire::Sender runs over it, handshake and all
// (the tunnel adds a route, not a trust); and a jump host's hop to the next
// host's sshd, whose own session (host key and all) runs over it.
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
  Tunnel(const SshConfig& ssh, std::string ip, int port);
  // Over a session already open, now the tunnel's (its thread's alone).
  Tunnel(std::unique_ptr<SshSession> session, std::string ip, int port);
  ~Tunnel();  // stops the pump and closes the session
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // A new connection to the relay's port; carried once the one before it
  // has closed (one sender at a time uses an edge).
  wire::Socket open();
  // Why the last connection was closed from the far side ("" if none was):
  // a jump host that cannot reach the next host says so here.
  std::string failure() const;

 private:
  void serve();                      // carries one connection after another
  void carry(wire::Socket& local);   // pumps one connection both ways until either end closes

  std::unique_ptr<SshSession> session_;
  std::string ip_;
  int port_;
  mutable std::mutex mu_;
  std::condition_variable queued_;
  std::deque<wire::Socket> waiting_;  // our ends of connections not yet carried
  bool stop_ = false;
  std::string failure_;
  std::thread thread_;
};

}  // namespace treesync
