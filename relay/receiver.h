// Receives one archive: verified chunks go to the spool, and a feeder thread
// streams the spool into `docker load` at the same time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "relay/protocol.h"
#include "relay/spool.h"
#include "relay/subprocess.h"

namespace relay {

struct LoadResult {
  bool ok = false;
  std::vector<std::string> ids;  // what docker load reported
  std::string error;
};

class Receiver {
 public:
  Receiver(const std::string& workdir, std::uint64_t size);
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

  std::string output_path_;
  Spool spool_;
  std::unique_ptr<wire::Child> load_;
  std::thread feeder_;
  std::atomic<bool> feed_failed_{false};
  std::string feed_error_;
};

}  // namespace relay
