// serve_relays, the control plane's threads (issue 13: no thread per node):
// many items on a few threads, each item's first turn a tick, ticks a
// second apart, every item served until its step says done.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "src/delivery/relay_loop.h"

using namespace treesync;

TEST_CASE("serve_relays serves 200 items on at most 4 threads, each until it is done") {
  const std::size_t n = 200;
  std::vector<RemoteRelay*> relays(n, nullptr);  // nothing to poll: turns come from the clock
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::map<std::size_t, int> turns, ticks;
  serve_relays(relays, 4, [&](std::size_t i, RelayTurn turn) {
    std::lock_guard<std::mutex> lock(mu);
    threads.insert(std::this_thread::get_id());
    CHECK_FALSE(turn.ready);
    ++turns[i];
    if (turn.tick) ++ticks[i];
    return ticks[i] < 2;  // done at its second tick
  });
  CHECK(threads.size() <= 4);
  CHECK(threads.size() >= 2);
  REQUIRE(turns.size() == n);
  for (const auto& [i, count] : turns) {
    CHECK(ticks[i] == 2);
    // The first turn is a tick; the next comes a second later, after about
    // ten 100 ms turns without one.
    CHECK(count >= 5);
    CHECK(count <= 15);
  }
}

TEST_CASE("serve_relays with fewer items than threads uses one thread per item, the caller's among them") {
  std::vector<RemoteRelay*> relays(2, nullptr);
  std::mutex mu;
  std::set<std::thread::id> threads;
  serve_relays(relays, 8, [&](std::size_t, RelayTurn) {
    std::lock_guard<std::mutex> lock(mu);
    threads.insert(std::this_thread::get_id());
    return false;
  });
  CHECK(threads.size() == 2);
  CHECK(threads.count(std::this_thread::get_id()) == 1);
}
