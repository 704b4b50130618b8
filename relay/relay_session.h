// One relay's conversation with treesync over its control channel (stdin and
// stdout of the SSH exec channel): answer probes, receive an archive into
// docker load, forward it to children, apply tags. It ends when the channel
// closes or a stop signal arrives, and then cleans up everything it started.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/wire/forwarder.h"
#include "src/wire/net.h"
#include "src/wire/protocol.h"
#include "relay/receiver.h"

namespace relay {

class RelaySession {
 public:
  RelaySession(int in_fd, int out_fd, std::string workdir, std::string spool_dir,
               const std::atomic<bool>& stop);
  ~RelaySession();
  void run();

 private:
  void handle_message(const wire::Json& msg);
  void start_receive(const wire::Json& msg);
  void start_forwarding(const wire::Json& msg);
  void handle_chunk(const wire::Frame& frame);  // flat mode: chunks on the control channel
  void accept_upstreams();
  void serve_upstream(wire::Socket sock);
  void finish_receive();  // starts the loader thread
  // Sends progress every second from receive start until the load ends: a
  // sign of life even while docker load is busy.
  void start_ticker();
  // Never throws: a closed channel shows up as EOF on stdin.
  void send(const wire::Json& msg);
  void send_error(const std::string& step, const std::string& message);
  void shutdown_network();

  int in_fd_, out_fd_;
  std::string workdir_, spool_dir_;
  const std::atomic<bool>& stop_;
  std::mutex out_mu_;

  std::mutex rx_mu_;  // guards receiver_ chunk intake and upstream_
  std::vector<wire::Part> parts_;  // of the stream we receive
  std::unique_ptr<Receiver> receiver_;
  bool discarding_ = false;  // flat mode, after a failed receive
  std::thread ticker_;
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool ticking_ = false;

  // Tree mode: the parent (or treesync) connects to our listener with the
  // session token; we forward to our children.
  std::string token_;
  wire::Socket listener_;
  std::thread acceptor_;
  std::vector<std::thread> upstream_threads_;
  wire::Socket* upstream_ = nullptr;  // the connection currently feeding us
  std::vector<std::unique_ptr<wire::Forwarder>> forwarders_;
  std::thread loader_;  // waits for docker load, then reports
  std::atomic<bool> closing_{false};
  std::atomic<std::uint64_t> wire_bytes_{0};  // chunk bytes that arrived, resends and stale ones included
};

}  // namespace relay
