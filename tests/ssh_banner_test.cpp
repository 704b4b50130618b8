// An sshd past its MaxStartups closes a new connection before its banner:
// SshSession tries such a host again (three attempts in all) before it
// reports it, with the reason libssh2 gave.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "src/errors.h"
#include "src/ssh/ssh.h"
#include "src/wire/net.h"

TEST_CASE("ssh: a host that closes before its banner is tried three times, then reported") {
  treesync::ssh_global_init();
  int port = 0;
  wire::Socket listener = wire::listen_tcp("127.0.0.1", &port);
  std::atomic<int> accepted{0};
  std::atomic<bool> done{false};
  std::thread closer([&] {
    while (!done) {
      wire::Socket s = wire::accept_tcp(listener);
      if (!s) return;
      ++accepted;  // and closed at once, as an sshd past MaxStartups does
    }
  });
  treesync::SshConfig config;
  config.host = "127.0.0.1";
  config.port = port;
  config.connect_timeout_s = 5;
  CHECK_THROWS_WITH(treesync::SshSession(config), Catch::Contains("Failed getting banner"));
  CHECK(accepted == 3);
  done = true;
  ::shutdown(listener.fd(), SHUT_RDWR);
  closer.join();
}
