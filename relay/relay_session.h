// One relay's conversation with treesync over its control channel (stdin and
// stdout of the SSH exec channel): answer probes, receive an archive into
// docker load, apply tags. It ends when the channel closes.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "relay/protocol.h"
#include "relay/receiver.h"

namespace relay {

class RelaySession {
 public:
  RelaySession(int in_fd, int out_fd, std::string workdir, std::string spool_dir,
               const std::atomic<bool>& stop);
  ~RelaySession();
  // Returns when the channel closes or a stop signal arrives.
  void run();

 private:
  void handle_message(const wire::Json& msg);
  void handle_chunk(const wire::Frame& frame);
  void send(const wire::Json& msg);
  void send_error(const std::string& step, const std::string& message);

  int in_fd_, out_fd_;
  std::string workdir_, spool_dir_;
  const std::atomic<bool>& stop_;
  std::unique_ptr<Receiver> receiver_;
  bool discarding_ = false;  // after a failed receive, until the sender stops
};

}  // namespace relay
