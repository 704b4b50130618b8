// bench/sim against closed forms: small cases whose answer is known from
// the links alone. If the model's sharing, pipelining or re-parenting
// breaks, these move by far more than the tolerance.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "bench/sim/flow_sim.h"

using namespace sim;

namespace {

constexpr double kRate = 100e6;                   // bytes per second, each way, every host
constexpr std::uint64_t kBytes = 256ull << 20;    // the stream
constexpr double kChunk = static_cast<double>(wire::kChunkSize);
constexpr double kOneCopy = kBytes / kRate;       // S/B

struct Outcome {
  Result result;
  double last = 0;  // the slowest node that completed
};

Outcome run(Shape shape, std::size_t n, int fanout, Scenario sc = {}, std::vector<Host> hosts = {},
            const std::vector<bool>& leaf_only = {}) {
  if (hosts.empty()) hosts.assign(n + 1, Host{kRate, kRate, false});
  sc.bytes = kBytes;
  Layout layout(shape, n, fanout, leaf_only);
  Outcome o{simulate(layout, hosts, sc)};
  for (double t : o.result.loaded)
    if (!std::isnan(t)) o.last = std::max(o.last, t);
  return o;
}

}  // namespace

TEST_CASE("sim: flat sends N copies through the source's uplink") {
  for (int workers : {0, 2, 10}) {
    Scenario sc;
    sc.source_slots = workers;
    const Outcome o = run(Shape::Flat, 4, 4, sc);
    INFO("workers " << workers);
    CHECK(o.last == Approx(4 * kOneCopy).epsilon(0.01));
    CHECK(o.result.source_bytes == Approx(4.0 * kBytes));
  }
}

TEST_CASE("sim: a chain takes one copy's time plus a chunk per hop") {
  const Outcome o = run(Shape::Chain, 5, 4);
  CHECK(o.last == Approx(kOneCopy + 4 * kChunk / kRate).epsilon(0.01));
  CHECK(o.result.source_bytes == Approx(1.0 * kBytes));
}

TEST_CASE("sim: a K-ary tree takes about K copies' time") {
  // 20 nodes, K = 4: every sender splits its uplink four ways, depth 3.
  const Outcome o = run(Shape::Tree, 20, 4);
  CHECK(o.last == Approx(4 * kOneCopy + 2 * 4 * kChunk / kRate).epsilon(0.01));
  CHECK(o.last == Approx(4 * kOneCopy).epsilon(0.03));
  CHECK(o.result.source_bytes == Approx(4.0 * kBytes));
}

TEST_CASE("sim: striped trees take about one copy's time, the source sends one copy") {
  for (std::size_t n : {4, 8, 64}) {
    INFO("n " << n);
    const Outcome o = run(Shape::Stripes, n, 4);
    CHECK(o.last == Approx(kOneCopy).epsilon(0.05));
    CHECK(o.result.source_bytes == Approx(1.0 * kBytes).epsilon(0.001));
  }
  // 10 nodes, k = 4: two trees are a forwarder short; forwarders of the
  // other trees with upload to spare take the rest, not the source
  // (stripes.h): still one copy, in about one copy's time.
  const Outcome ten = run(Shape::Stripes, 10, 4);
  CHECK(ten.result.source_bytes == Approx(1.0 * kBytes).epsilon(0.001));
  CHECK(ten.last == Approx(kOneCopy).epsilon(0.1));
}

TEST_CASE("sim: a slow node gets its own link, the others share the rest (max-min)") {
  std::vector<Host> hosts(5, Host{kRate, kRate, false});
  hosts[0] = Host{kRate / 10, kRate / 10, true};
  const Outcome o = run(Shape::Flat, 4, 4, {}, hosts);
  // Node 0 at B/10 throughout; the others at 0.3 B each, then done.
  CHECK(o.result.loaded[0] == Approx(10 * kOneCopy).epsilon(0.01));
  for (std::size_t i = 1; i < 4; ++i) CHECK(o.result.loaded[i] == Approx(kOneCopy / 0.3).epsilon(0.01));
  // In a chain, everyone behind the slow node is held to its rate.
  std::vector<Host> chain(5, Host{kRate, kRate, false});
  chain[1] = Host{kRate / 10, kRate / 10, true};
  const Outcome c = run(Shape::Chain, 4, 1, {}, chain);
  CHECK(c.result.loaded[0] == Approx(kOneCopy).epsilon(0.01));
  for (std::size_t i = 1; i < 4; ++i) CHECK(c.result.loaded[i] == Approx(10 * kOneCopy).epsilon(0.02));
}

TEST_CASE("sim: a slow forwarder holds its stripe's tree to its uplink; as a leaf it holds only itself") {
  std::vector<Host> hosts(9, Host{kRate, kRate, false});
  hosts[1] = Host{kRate / 10, kRate / 10, true};  // node 1 roots stripe 1 and feeds four nodes
  const Outcome fixed = run(Shape::Stripes, 8, 4, {}, hosts);
  // Its four children get stripe 1 at a quarter of its uplink: 10 S/B.
  CHECK(fixed.result.loaded[0] == Approx(10 * kOneCopy).epsilon(0.05));
  std::vector<bool> leaf(8, false);
  leaf[1] = true;
  const Outcome aware = run(Shape::Stripes, 8, 4, {}, hosts, leaf);
  CHECK(aware.result.loaded[1] == Approx(10 * kOneCopy).epsilon(0.01));  // its own link's limit
  for (std::size_t i : {0u, 2u, 3u, 4u, 5u, 6u, 7u}) CHECK(aware.result.loaded[i] < 2 * kOneCopy);
}

TEST_CASE("sim: a runtime slower than the link sets the pace") {
  Scenario sc;
  sc.load_rate = kRate / 2;
  const Outcome o = run(Shape::Chain, 3, 1, sc);
  CHECK(o.last == Approx(2 * kOneCopy).epsilon(0.01));
}

TEST_CASE("sim: a relay dies mid-chain, its child resumes from the node above") {
  Scenario sc;
  sc.detect_s = 0.1;
  sc.failures = {{1, kOneCopy / 2}};
  const Outcome o = run(Shape::Chain, 4, 1, sc);
  CHECK(std::isnan(o.result.loaded[1]));
  for (std::size_t i : {0u, 2u, 3u}) CHECK(!std::isnan(o.result.loaded[i]));
  // Nodes 2 and 3 lose the detection time, and nothing else.
  CHECK(o.last == Approx(kOneCopy + sc.detect_s + 3 * kChunk / kRate).epsilon(0.01));
  CHECK(o.result.source_bytes == Approx(1.0 * kBytes));
}

TEST_CASE("sim: a forwarder of one stripe dies, the others lose little") {
  Scenario sc;
  sc.detect_s = 0.1;
  const Outcome clean = run(Shape::Stripes, 8, 4);
  sc.failures = {{5, kOneCopy / 2}};  // forwards in tree 1, to nodes 4, 6, 7
  const Outcome o = run(Shape::Stripes, 8, 4, sc);
  CHECK(std::isnan(o.result.loaded[5]));
  std::size_t completed = 0;
  for (double t : o.result.loaded) completed += !std::isnan(t);
  CHECK(completed == 7);
  CHECK(o.last < 1.2 * clean.last + sc.detect_s);
}
