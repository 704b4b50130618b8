#include "src/report/source_cost.h"

#include <dirent.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "src/report/report.h"

namespace treesync {
namespace {

std::size_t current_threads() {
  std::ifstream in("/proc/self/status");
  std::stringstream s;
  s << in.rdbuf();
  return threads_in_status(s.str());
}

// Entries of /proc/self/fd, less the one opendir holds while it reads.
std::size_t current_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return 0;
  std::size_t n = 0;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n > 0 ? n - 1 : 0;
}

double seconds_of(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }

}  // namespace

std::size_t threads_in_status(const std::string& proc_status) {
  std::istringstream lines(proc_status);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoul(line.substr(8));
  return 0;
}

SourceCostSampler::SourceCostSampler() {
  sample();
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
      lock.unlock();
      sample();
      lock.lock();
    }
  });
}

SourceCostSampler::~SourceCostSampler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void SourceCostSampler::sample() {
  const std::size_t threads = current_threads(), fds = current_fds();
  std::lock_guard<std::mutex> lock(mu_);
  peak_threads_ = std::max(peak_threads_, threads);
  peak_fds_ = std::max(peak_fds_, fds);
}

SourceCost SourceCostSampler::now() {
  sample();
  SourceCost c;
  struct rusage u;
  if (::getrusage(RUSAGE_SELF, &u) == 0) {
    c.cpu_seconds = seconds_of(u.ru_utime) + seconds_of(u.ru_stime);
    c.peak_rss_bytes = static_cast<std::uint64_t>(u.ru_maxrss) * 1024;  // Linux counts it in KiB
  }
  std::lock_guard<std::mutex> lock(mu_);
  c.peak_threads = peak_threads_;
  c.peak_fds = peak_fds_;
  return c;
}

std::string source_cost_line(const SourceCost& cost) {
  char line[160];
  std::snprintf(line, sizeof line, "source: %.1f s CPU, %s peak RSS, %zu threads, %zu open files at peak", cost.cpu_seconds,
                human_bytes(cost.peak_rss_bytes).c_str(), cost.peak_threads, cost.peak_fds);
  return line;
}

}  // namespace treesync
