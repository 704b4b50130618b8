// A data edge over SSH, for a node whose relay port the source cannot reach
// by TCP (a firewall that lets only SSH through): a port on 127.0.0.1 whose
// connections are each carried to the relay's port by a direct-tcpip
// channel of an SSH session of the tunnel's own, as `ssh -L` would. The
// same wire::Sender then runs over it, handshake and all: the tunnel adds
// a route, not a trust.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "src/ssh/ssh.h"
#include "src/wire/net.h"

namespace treesync {

class Tunnel {
 public:
  // Logs in (throws NodeError as SshSession does) and starts listening.
  Tunnel(const SshConfig& ssh, std::string relay_ip, int relay_port);
  ~Tunnel();  // stops the pump and closes the session
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  int local_port() const { return local_port_; }

 private:
  void serve();                      // accepts one connection after another
  void carry(wire::Socket& local);   // pumps one connection both ways until either end closes

  std::unique_ptr<SshSession> session_;
  std::string relay_ip_;
  int relay_port_;
  wire::Socket listener_;
  int local_port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace treesync
