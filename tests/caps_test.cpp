// A run's caps as the command resolves them (src/delivery/caps.h): which cap
// each sender gets, the line the plan and summary show, and the prediction
// from what each node lacks.
#include <catch2/catch.hpp>

#include "src/delivery/caps.h"

using namespace treesync;

namespace {

std::vector<NodeRun> loading_nodes(std::size_t n, std::uint64_t own_limit_of_last = 0) {
  std::vector<NodeRun> runs(n);
  for (std::size_t i = 0; i < n; ++i) {
    runs[i].node.name = "node" + std::to_string(i + 1);
    runs[i].decision.action = Action::Load;
    runs[i].need = {0};
  }
  runs.back().node.limit = own_limit_of_last;
  return runs;
}

Bundle one_part(std::uint64_t bytes) {
  Bundle b;
  wire::Part p;
  p.size = p.raw = bytes;
  b.parts.push_back(p);
  b.layer.push_back("sha256:" + std::string(64, 'a'));
  return b;
}

}  // namespace

TEST_CASE("caps: --source-limit, else --limit-rate, for the source; the inventory's limit, else --limit-rate, per relay") {
  Options o;
  Node plain, own;
  own.limit = 7000000;
  CHECK(source_cap(o) == 0);
  CHECK(relay_cap(plain, o) == 0);
  CHECK(relay_cap(own, o) == 7000000u);
  o.limit_rate = 50000000;
  CHECK(source_cap(o) == 50000000u);
  CHECK(relay_cap(plain, o) == 50000000u);
  CHECK(relay_cap(own, o) == 7000000u);
  o.source_limit = 200000000;
  CHECK(source_cap(o) == 200000000u);
  CHECK(relay_cap(plain, o) == 50000000u);
}

TEST_CASE("caps: the line names every cap, and nothing when nothing is capped") {
  Options o;
  CHECK(caps_line(loading_nodes(3), o).empty());
  o.limit_rate = 50000000;
  CHECK(caps_line(loading_nodes(3), o) == "caps (on the wire): source 50 Mbit/s, relays 50 Mbit/s");
  CHECK(caps_line(loading_nodes(3, 100000000), o) ==
        "caps (on the wire): source 50 Mbit/s, relays 50 Mbit/s (node3 100 Mbit/s)");
  o.limit_rate = 0;
  o.source_limit = 1000000000;
  CHECK(caps_line(loading_nodes(2), o) == "caps (on the wire): source 1 Gbit/s, relays uncapped");
  o.source_limit = 0;
  CHECK(caps_line(loading_nodes(2, 8000000), o) ==
        "caps (on the wire): source uncapped, relays uncapped (node2 8 Mbit/s)");
}

TEST_CASE("caps: the prediction counts the wire's headers, per mode; with no cap, in copies of equal links") {
  Options o;
  o.fanout = 1;
  const Bundle b = one_part(100000000);  // 100 MB each node lacks
  // No node to load (a late round whose node failed): nothing predicted.
  const auto none = predict({}, b, o);
  CHECK_FALSE(none.flat.has_value());
  CHECK_FALSE(none.stripes.has_value());
  const auto relative = predict(loading_nodes(4), b, o);
  CHECK(relative.relative);
  CHECK(*relative.flat == Approx(4));  // four copies through the source's link
  CHECK(*relative.stripes == Approx(1 + 3.0 * (1 << 20) / 100e6));  // one stripe: a chain, a chunk per relay
  CHECK(prediction_line(relative, topology::Mode::Flat).empty());  // no seconds to promise
  o.limit_rate = 80000000;  // 10 MB/s on the wire: 1448/1514 of it carries the stream
  auto p = predict(loading_nodes(4), b, o);
  CHECK_FALSE(p.relative);
  const double payload = 10e6 * 1448 / 1514;
  CHECK(*p.flat == Approx(4 * 100e6 / payload));
  CHECK(*p.tree == Approx((100e6 + 3.0 * (1 << 20)) / payload));  // a pipeline of 4: 3 relays
  CHECK(prediction_line(p, topology::Mode::Flat) == "predicted under the caps: 41.8 s to stream (flat)");
  CHECK(prediction_line({}, topology::Mode::Tree).empty());
}
