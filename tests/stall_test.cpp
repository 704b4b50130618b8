// The stall rule: who is blamed when bytes stop growing.
#include <catch2/catch.hpp>

#include "topology/stall.h"

using topology::Progress;
using topology::slow_forwarder;
using topology::stalled;

namespace {

Progress idle(double s, std::uint64_t at = 100) { return {at, s, false, false, true}; }

}  // namespace

TEST_CASE("a node fed by the source is stalled once idle for the timeout, not before") {
  CHECK_FALSE(stalled(idle(5), nullptr, 10));
  CHECK(stalled(idle(10), nullptr, 10));
}

TEST_CASE("a complete node, or one waiting for its edge to start, is never stalled") {
  Progress done = idle(100);
  done.complete = true;
  CHECK_FALSE(stalled(done, nullptr, 10));
  Progress waiting = idle(100);
  waiting.waiting = true;
  CHECK_FALSE(stalled(waiting, nullptr, 10));
}

TEST_CASE("a node is blamed only if its parent is live, moving and ahead of it") {
  const Progress me = idle(30, 100);
  Progress parent = idle(1, 200);
  CHECK(stalled(me, &parent, 10));
  SECTION("parent not ahead: starved, not stalled") {
    parent.position = 100;
    CHECK_FALSE(stalled(me, &parent, 10));
  }
  SECTION("parent idle too: its own check moves us") {
    parent.idle_s = 30;
    CHECK_FALSE(stalled(me, &parent, 10));
  }
  SECTION("parent complete counts as live however long it has been idle") {
    parent.idle_s = 300;
    parent.complete = true;
    CHECK(stalled(me, &parent, 10));
  }
  SECTION("parent dead: its loss moves us") {
    parent.alive = false;
    CHECK_FALSE(stalled(me, &parent, 10));
  }
}

namespace {

constexpr std::uint64_t kUnit = 1 << 20;

Progress stripe_at(std::uint64_t at, double idle_s) { return {at, idle_s, false, false, true}; }

}  // namespace

TEST_CASE("a stripe idle behind a full window is held back by the trickling stripe the load waits for") {
  using topology::held_back_by;
  const std::uint64_t window = 4 * kUnit;
  // Stripe 1 trickles (it grew a second ago); 0 and 2 sit a window ahead, idle.
  std::vector<Progress> s{stripe_at(5 * kUnit, 30), stripe_at(kUnit + 10, 1), stripe_at(4 * kUnit + 7, 30)};
  CHECK(held_back_by(s, 0, window, kUnit, 10) == 1);
  CHECK(held_back_by(s, 2, window, kUnit, 10) == 1);
  SECTION("the laggard itself is never held back by anyone") { CHECK(held_back_by(s, 1, window, kUnit, 10) == -1); }
  SECTION("not far enough ahead to fill its window: its own parent is to blame") {
    s[0].position = 2 * kUnit;
    CHECK(held_back_by(s, 0, window, kUnit, 10) == -1);
  }
  SECTION("the laggard idle too: its own stall is what to act on") {
    s[1].idle_s = 30;
    CHECK(held_back_by(s, 0, window, kUnit, 10) == -1);
  }
  SECTION("the laggard waiting for its edge to start counts as moving") {
    s[1].idle_s = 30;
    s[1].waiting = true;
    CHECK(held_back_by(s, 0, window, kUnit, 10) == 1);
  }
  SECTION("a complete stripe is nobody's laggard") {
    s[1].complete = true;
    CHECK(held_back_by(s, 0, window, kUnit, 10) == -1);  // 2 is the laggard now, and 0 is not a window past it
  }
}

TEST_CASE("with the smallest share (two units), any stripe ahead of a trickling one is held back by it") {
  std::vector<Progress> s{stripe_at(3 * kUnit, 30), stripe_at(2 * kUnit, 1)};
  CHECK(topology::held_back_by(s, 0, 2 * kUnit, kUnit, 10) == 1);
  s[0].position = 2 * kUnit;  // level with it: not ahead
  CHECK(topology::held_back_by(s, 0, 2 * kUnit, kUnit, 10) == -1);
}

TEST_CASE("a stripe far behind blames its parent only for the lag the parent does not share") {
  constexpr std::uint64_t MiB = 1 << 20, limit = 32 * MiB;
  // A parent fed fine in that stripe (or slow in every stripe alike) that forwards slowly.
  CHECK(slow_forwarder(33 * MiB, 0, limit));
  CHECK(slow_forwarder(40 * MiB, 8 * MiB, limit));
  CHECK_FALSE(slow_forwarder(31 * MiB, 0, limit));
  // Its parent as far behind in the same stripe: starved from above, or both
  // just moved off a slow forwarder; not slow itself.
  CHECK_FALSE(slow_forwarder(39 * MiB, 38 * MiB, limit));
  CHECK_FALSE(slow_forwarder(33 * MiB, 40 * MiB, limit));
}
