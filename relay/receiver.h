// Receives one stream of parts: verified chunks go to the spool, and a
// feeder thread turns the parts this node loads into a tar for `docker
// load` (decompressing layers) as the bytes arrive.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/wire/bundle.h"
#include "src/wire/protocol.h"
#include "relay/spool.h"
#include "src/runtime/subprocess.h"

namespace relay {

struct LoadResult {
  bool ok = false;
  std::vector<std::string> ids;  // what docker load reported
  std::string error;
};

class Receiver {
 public:
  // `parts`: the whole stream; `load`: the indexes of those docker load gets
  // (the others are only for the subtree).
  Receiver(const std::string& workdir, std::vector<wire::Part> parts, std::vector<std::size_t> load);
  ~Receiver();

  // Takes the next data frame; throws if it is out of order, corrupt or
  // cannot be stored (the message names which).
  void accept(const wire::Frame& chunk);
  bool complete() const { return spool_.written() == spool_.size(); }
  std::uint64_t received() const { return spool_.written(); }
  // Waits for docker load to finish reading the spool and exit.
  LoadResult finish();
  // Stops everything: spool readers wake up with an error, docker load is killed.
  void cancel();
  Spool& spool() { return spool_; }

 private:
  void feed();
  void feed_part(const wire::Part& part, std::uint64_t offset);
  void emit(const char* data, std::size_t n);

  std::vector<wire::Part> parts_;
  std::vector<std::size_t> load_parts_;
  std::string output_path_;
  Spool spool_;
  std::unique_ptr<runtime::Child> load_;
  std::thread feeder_;
  std::atomic<bool> feed_failed_{false};
  std::string feed_error_;
};

}  // namespace relay
