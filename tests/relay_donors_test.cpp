// Who ships a relay to a node that lacks it (src/ssh/relay_donors.h): the
// source for the first few, then lenders, never a lender past its share,
// never one whose fetch failed or whose relay stopped, and nobody waits
// past the patience.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "src/ssh/relay_donors.h"

using treesync::Donor;
using treesync::RelayDonors;

namespace {

const std::atomic<bool> kGoOn{false};
Donor donor(const std::string& name) { return {name, "10.0.0.1", 4000, std::string(64, 'a')}; }

}  // namespace

TEST_CASE("the source ships a relay to the first source_slots nodes, then lenders do") {
  RelayDonors donors(2, 2, std::chrono::milliseconds(200));
  auto a = donors.acquire("h", kGoOn);
  auto b = donors.acquire("h", kGoOn);
  REQUIRE(a.donor() == nullptr);
  REQUIRE(b.donor() == nullptr);
  donors.add("h", donor("node1"));
  donors.add("h", donor("node2"));
  // Four fetches: two per lender, the least busy first.
  std::map<std::string, int> by;
  std::vector<RelayDonors::Lease> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(donors.acquire("h", kGoOn));
    REQUIRE(held.back().donor() != nullptr);
    ++by[held.back().donor()->node];
  }
  REQUIRE(by == std::map<std::string, int>{{"node1", 2}, {"node2", 2}});
  // Both full: the fifth waits out the patience, then gets the source.
  const auto t0 = std::chrono::steady_clock::now();
  auto fifth = donors.acquire("h", kGoOn);
  REQUIRE(fifth.donor() == nullptr);
  REQUIRE(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(200));
  // A fetch ending gives its slot back.
  held.pop_back();
  REQUIRE(donors.acquire("h", kGoOn).donor() != nullptr);
}

TEST_CASE("a node waiting for a lender gets the first one that starts lending") {
  RelayDonors donors(1, 4, std::chrono::seconds(10));
  auto first = donors.acquire("h", kGoOn);
  REQUIRE(first.donor() == nullptr);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    donors.add("h", donor("node1"));
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto second = donors.acquire("h", kGoOn);
  later.join();
  REQUIRE(second.donor() != nullptr);
  REQUIRE(second.donor()->node == "node1");
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("a lender whose fetch failed, or whose relay stopped, lends no more") {
  RelayDonors donors(1, 4, std::chrono::milliseconds(50));
  { auto used = donors.acquire("h", kGoOn); }  // the source's one
  donors.add("h", donor("node1"));
  donors.add("h", donor("node2"));
  {
    auto lease = donors.acquire("h", kGoOn);
    REQUIRE(lease.donor()->node == "node1");
    lease.failed(true);
  }
  donors.remove("node2");
  REQUIRE(donors.acquire("h", kGoOn).donor() == nullptr);
}

TEST_CASE("each relay binary has its own lenders and its own source shipments") {
  RelayDonors donors(1, 4, std::chrono::milliseconds(50));
  donors.add("x86", donor("node1"));
  REQUIRE(donors.acquire("arm", kGoOn).donor() == nullptr);  // the source's one for arm
  REQUIRE(donors.acquire("x86", kGoOn).donor()->node == "node1");
}

TEST_CASE("an interrupted run does not wait for a lender") {
  RelayDonors donors(0, 4, std::chrono::seconds(30));
  const std::atomic<bool> stop{true};
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(donors.acquire("h", stop).donor() == nullptr);
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
}

TEST_CASE("a node that cannot fetch (no bash) does not cost the lender its turn") {
  RelayDonors donors(0, 4, std::chrono::milliseconds(50));
  donors.add("h", donor("node1"));
  { donors.acquire("h", kGoOn).failed(false); }
  REQUIRE(donors.acquire("h", kGoOn).donor() != nullptr);
}

TEST_CASE("after kGiveUp failures and no fetch that worked, nobody waits for a lender") {
  RelayDonors donors(0, 1, std::chrono::seconds(30));
  donors.add("h", donor("node1"));
  for (int i = 0; i < RelayDonors::kGiveUp - 1; ++i) donors.acquire("h", kGoOn).failed(false);
  donors.cannot_lend();
  auto busy = donors.acquire("h", kGoOn);  // node1's one slot
  REQUIRE(busy.donor() != nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(donors.acquire("h", kGoOn).donor() == nullptr);  // the source, at once
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
}

TEST_CASE("failures do not stop the lending once fetches work") {
  RelayDonors donors(0, 1, std::chrono::milliseconds(300));
  donors.add("h", donor("node1"));
  { donors.acquire("h", kGoOn).fetched(); }
  for (int i = 0; i < RelayDonors::kGiveUp; ++i) donors.acquire("h", kGoOn).failed(false);
  auto busy = donors.acquire("h", kGoOn);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(donors.acquire("h", kGoOn).donor() == nullptr);  // waited for node1, then the source
  REQUIRE(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(300));
}
