#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "src/report/source_cost.h"
#include "src/ssh/handshake_gate.h"

using namespace treesync;

TEST_CASE("the thread count comes from the Threads: line of /proc/PID/status") {
  CHECK(threads_in_status("Name:\ttreesync\nUmask:\t0022\nThreads:\t17\nSigQ:\t0/1\n") == 17);
  CHECK(threads_in_status("Name:\tx\n") == 0);
}

TEST_CASE("the sampler sees threads and descriptors that came and went between samples' reports") {
  SourceCostSampler sampler;
  const SourceCost before = sampler.now();
  CHECK(before.peak_threads >= 2);  // this one and the sampler's
  CHECK(before.peak_fds >= 3);      // stdin, stdout, stderr
  {
    std::vector<int> fds;
    for (int i = 0; i < 20; ++i) fds.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i)
      threads.emplace_back([&] {
        while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // several samples, even on a busy machine
    go = true;
    for (auto& t : threads) t.join();
    for (int fd : fds) ::close(fd);
  }
  const SourceCost after = sampler.now();
  CHECK(after.peak_threads >= before.peak_threads + 6);
  CHECK(after.peak_fds >= before.peak_fds + 20);
  CHECK(after.peak_rss_bytes > 1u << 20);
  CHECK(after.cpu_seconds >= before.cpu_seconds);
}

TEST_CASE("the summary's cost line is one short line") {
  const std::string line = source_cost_line({1.25, 48234496, 14, 31});
  CHECK(line == "source: 1.2 s CPU, 46.0 MiB peak RSS, 14 threads, 31 open files at peak");
}

TEST_CASE("the handshake gate lets at most its limit in at once, and everyone through") {
  HandshakeGate gate(3);
  std::atomic<int> inside{0}, most{0}, done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 24; ++i)
    threads.emplace_back([&] {
      HandshakeGate::Slot slot(gate);
      const int now = ++inside;
      for (int seen = most; now > seen && !most.compare_exchange_weak(seen, now);) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      --inside;
      ++done;
    });
  for (auto& t : threads) t.join();
  CHECK(done == 24);
  CHECK(most <= 3);
  CHECK(gate.peak() == 3);  // 24 callers against 3 slots: it filled
}

TEST_CASE("the process's gate is kHandshakesInFlight wide, below OpenSSH's MaxStartups start of 10") {
  CHECK(handshake_gate().limit() == kHandshakesInFlight);
  CHECK(kHandshakesInFlight < 10);
}
