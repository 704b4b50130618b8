// Pushes the archive to one child over TCP: connect, present the session
// token, learn where the child's spool ends, stream from there. Used by
// every relay for its children and by treesync for the tree's first level.
//
// On the link: sender "hello"{token} -> receiver "resume"{offset}; then data
// frames; the receiver may send "resume" again (a chunk failed its hash) and
// closes the connection once it holds every byte.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "src/wire/bundle.h"
#include "src/wire/net.h"

namespace wire {

struct Target {
  std::string name;
  std::string address;  // numeric IP
  int port = 0;
};

class Forwarder {
 public:
  // Copies up to n bytes at offset into buf, waiting for them if need be;
  // returns 0 only at the end. May throw to abort.
  using Reader = ByteReader;
  // Called once, from the forwarder's thread, when it ends.
  using Done = std::function<void(const Forwarder&)>;

  Forwarder(Target target, std::string token, std::uint64_t size, Reader reader, Done done = nullptr);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  void start();
  void cancel();  // unblocks and stops the thread
  void join();

  const Target& target() const { return target_; }
  bool finished() const { return finished_; }
  bool ok() const { return finished_ && error_.empty(); }
  std::string error() const;
  std::uint64_t sent() const { return sent_; }  // payload bytes written, resends included

 private:
  void run();
  void stream();

  Target target_;
  std::string token_;
  std::uint64_t size_;
  Reader reader_;
  Done done_;
  std::thread thread_;
  std::mutex mu_;
  Socket sock_;
  std::atomic<bool> cancelled_{false}, finished_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::string error_;
};

// Compares secrets in time that does not depend on where they differ.
bool same_token(const std::string& a, const std::string& b);

}  // namespace wire
