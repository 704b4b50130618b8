#include <catch2/catch.hpp>

#include "src/delivery/probe_quiet.h"

using namespace treesync;
using std::chrono::milliseconds;

namespace {

std::vector<ProbeTime> ms(std::initializer_list<int> values) {
  std::vector<ProbeTime> out;
  for (int v : values) out.push_back(milliseconds(v));
  return out;
}

}  // namespace

TEST_CASE("probe quiet window: twice the spread or half the slowest answer, within the floor and the cap") {
  // 7 nodes alike, 30 ms apart at 0.35 s (the lab's hung-node bench): the floor.
  CHECK(probe_quiet(ms({330, 335, 340, 345, 350, 355, 360})) == kProbeQuietFloor);
  // One answer: its own pace.
  CHECK(probe_quiet(ms({800})) == milliseconds(400));
  // Answers spread over 0.4 s: 0.8 s more.
  CHECK(probe_quiet(ms({300, 500, 700})) == milliseconds(800));
  // Far apart, or slow links: never more than the cap.
  CHECK(probe_quiet(ms({300, 4000})) == kProbeQuietCap);
  CHECK(probe_quiet(ms({9000})) == kProbeQuietCap);
  CHECK(kProbeQuietFloor < milliseconds(500));
}

TEST_CASE("probes: a hung one costs the others a fraction of a second") {
  // Node 8 hung since 0: the run goes on 0.25 s after the last answer.
  const auto at = probes_go_on_at(ms({330, 335, 340, 345, 350, 355, 360}), ms({0}));
  REQUIRE(at);
  CHECK(*at == milliseconds(610));
}

TEST_CASE("probes: a node a moment slower than the rest still joins the first round") {
  // 7 answers by 0.36 s; the 8th answers at 0.55 s, before the run goes on.
  const auto at = probes_go_on_at(ms({330, 335, 340, 345, 350, 355, 360}), ms({0}));
  REQUIRE(at);
  CHECK(*at > milliseconds(550));
  // More spread among the answers, more grace: 0.35 s after the last still joins.
  const auto wider = probes_go_on_at(ms({300, 400, 500}), ms({0}));
  REQUIRE(wider);
  CHECK(*wider == milliseconds(900));
}

TEST_CASE("probes: one queued behind the workers counts from its own start") {
  // 10 workers, the 11th node's probe began when the first answer came (0.33 s).
  const auto at = probes_go_on_at(ms({330, 335, 340}), ms({0, 330}));
  REQUIRE(at);
  CHECK(*at == milliseconds(330 + 340 + 250));
}

TEST_CASE("probes: no answer yet, or none running: keep waiting") {
  CHECK_FALSE(probes_go_on_at({}, ms({0, 0})));
  CHECK_FALSE(probes_go_on_at(ms({300}), {}));
}
