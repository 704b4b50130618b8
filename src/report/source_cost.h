// What a run costs the machine it runs on (the source): CPU seconds, peak
// memory, threads and open descriptors of the treesync process. The issue
// that asks for hundreds of nodes asks what each costs here; these go in
// the --json report, --metrics and one line under the summary.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace treesync {

struct SourceCost {
  double cpu_seconds = 0;             // user + system, every thread (getrusage RUSAGE_SELF)
  std::uint64_t peak_rss_bytes = 0;   // the kernel's own peak (ru_maxrss: VmHWM)
  std::size_t peak_threads = 0;       // sampled, the sampler's own thread included
  std::size_t peak_fds = 0;           // sampled
};

// Threads and peaks are sampled (every 100 ms, and on each now()): a spike
// shorter than that can pass unseen; CPU and RSS are the kernel's totals.
class SourceCostSampler {
 public:
  SourceCostSampler();
  ~SourceCostSampler();  // stops the sampler thread
  SourceCostSampler(const SourceCostSampler&) = delete;
  SourceCostSampler& operator=(const SourceCostSampler&) = delete;

  SourceCost now();  // the totals so far, with one more sample

 private:
  void sample();

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::size_t peak_threads_ = 0, peak_fds_ = 0;
  std::thread thread_;
};

// The "Threads:" value of a /proc/PID/status text (0 if absent).
std::size_t threads_in_status(const std::string& proc_status);
// "source: 1.2 s CPU, 42.0 MiB peak RSS, 14 threads, 31 open files at peak"
std::string source_cost_line(const SourceCost& cost);

}  // namespace treesync
