// A run's hold on the source's layer cache directory, from before its first
// read of the cache until it exits. Two runs may use one cache at once, but
// only a run that has it to itself may prune it: pruning must never remove
// a layer another live run is sending.
//
//   DIR/.treesync-cache  marker: this directory is a treesync layer cache
//   DIR/.lock            flock'ed exclusively by the run that owns the cache (holds its PID)
//   DIR/.lock-shared     flock'ed shared by each run that shares it; exclusively while pruning
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace treesync {

class CacheLease {
 public:
  enum class Mode { Owner, Sharer };

  // Makes `dir` a layer cache (a new or empty directory: only one it
  // creates is set to 0700), adopts one an older treesync made (layers/ and
  // configs/, no marker yet), and refuses anything else with UsageError:
  // treesync deletes files in a cache. Then takes the cache: exclusively if
  // it can within `wait` (saying which PID has it meanwhile), else shared.
  static std::unique_ptr<CacheLease> open(const std::string& dir, bool is_default, std::chrono::milliseconds wait);
  // The lease this process holds on `dir`, or nullptr.
  static CacheLease* held(const std::string& dir);

  ~CacheLease();
  CacheLease(const CacheLease&) = delete;
  CacheLease& operator=(const CacheLease&) = delete;

  Mode mode() const { return mode_; }
  // The PID the owner's lock file named while this run waited; 0 if it did not wait.
  pid_t holder() const { return holder_; }
  // Runs `prune` only if this run owns the cache and no other run shares
  // it, and keeps sharers out while it runs. False if it did not run.
  bool prune_if_alone(const std::function<void()>& prune);

 private:
  explicit CacheLease(std::string dir) : dir_(std::move(dir)) {}
  void take(std::chrono::milliseconds wait);
  void settle(bool created_now);

  std::string dir_;
  Mode mode_ = Mode::Sharer;
  pid_t holder_ = 0;
  int owner_fd_ = -1;
  int shared_fd_ = -1;
};

}  // namespace treesync
