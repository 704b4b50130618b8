// The one sender of the data path: pushes a stream to one receiver over
// TCP: connect, prove it holds the edge's key (edge_auth.h), learn where the
// receiver's spool ends, stream chunks from there, and go back whenever the
// receiver asks (a chunk failed its check). Used by the source for every
// node it feeds, in flat mode and tree mode alike, and by every relay for
// its children. A host's senders may share a RateLimiter (its upload cap).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "src/wire/bundle.h"
#include "src/wire/net.h"
#include "src/wire/pace.h"
#include "src/wire/rate_limiter.h"

namespace wire {

struct Target {
  std::string name;
  std::string address;  // numeric IP
  int port = 0;
};

class Sender {
 public:
  // Copies up to n bytes at offset into buf, waiting for them if need be;
  // returns 0 only at the end. May throw to abort.
  using Reader = ByteReader;
  // Called once, from the sender's thread, when it ends.
  using Done = std::function<void(const Sender&)>;
  // Opens the connection to the target; by default TCP to its address. The
  // source may take another route (an SSH tunnel): the handshake that
  // follows is the same, so the route adds no trust.
  using Dial = std::function<Socket()>;

  // A receiver that refuses (it may not know this edge's key yet, or
  // strangers hold its handshake slots) is tried again, 0.25 s to 2 s apart,
  // `open_attempts` times in all; 0: until cancelled (the source, which
  // cancels the edges it gives up on).
  Sender(Target target, std::string key, std::uint64_t size, Reader reader, Done done = nullptr, Dial dial = nullptr,
         int open_attempts = kOpenAttempts);
  static constexpr int kOpenAttempts = 7;
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  // Before start(): the host's upload cap, shared with its other senders.
  void limit(std::shared_ptr<RateLimiter> limiter) { limiter_ = std::move(limiter); }
  // Or, before start(): the host's automatic pace, shared likewise.
  void pace(std::shared_ptr<Pace> pace) { pace_ = std::move(pace); }
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
  // Connects and authenticates, trying again if the receiver refuses, but
  // not if it answers wrongly; returns the offset to start from, with `in`
  // holding what came after the accept.
  std::uint64_t open(FrameReader& in);
  std::uint64_t handshake(FrameReader& in);
  void stream(std::uint64_t offset, FrameReader& in);
  // Writes all of `bytes`, within the cap if there is one.
  bool write(const char* bytes, std::size_t n);

  Target target_;
  std::string where_;
  std::string key_;
  std::uint64_t size_;
  Reader reader_;
  Done done_;
  Dial dial_;
  int open_attempts_;
  std::shared_ptr<RateLimiter> limiter_;
  std::shared_ptr<Pace> pace_;
  std::thread thread_;
  mutable std::mutex mu_;
  Socket sock_;
  std::atomic<bool> cancelled_{false}, finished_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::string error_;
};

}  // namespace wire
