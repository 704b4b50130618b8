#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "src/wire/net.h"
#include "src/wire/pace.h"
#include "src/wire/pace_control.h"
#include "src/wire/rate_limiter.h"

using wire::PaceControl;
using wire::PaceSample;

namespace {

constexpr double kTick = 0.25;

PaceSample at(double bits_per_second, bool held = true) {
  return {kTick, static_cast<std::uint64_t>(bits_per_second * kTick / 8), held};
}

// A host's uplink as a fluid, with a deep buffer in front of it: the host
// offers `offered` of its `demand` bits/s, the link carries `link`, the
// rest waits in the buffer; what does not fit stays in the host's sockets.
struct Uplink {
  double link;
  double buffer_seconds = 1;  // what TCP's small-queue limit lets 4 flows queue at 4 Mbit/s
  double backlog = 0;         // bits waiting in front of the link

  PaceSample run(double offered, double demand) {
    const double in = std::min(offered * kTick, link * buffer_seconds - backlog + link * kTick);
    const double out = std::min(link * kTick, backlog + in);
    backlog += in - out;
    return {kTick, static_cast<std::uint64_t>(out / 8), demand * kTick > in * 1.0001};
  }
  double queue_seconds() const { return backlog / link; }
};

struct Run {
  double mean_rate = 0, mean_queue = 0, max_queue = 0;
};

Run drive(PaceControl& c, std::uint64_t& pace, Uplink& up, double demand, double seconds, double settle) {
  Run r;
  int n = 0;
  for (double t = 0; t < seconds; t += kTick) {
    const double offered = pace ? std::min(static_cast<double>(pace), demand) : demand;
    const PaceSample s = up.run(offered, demand);
    pace = c.update(s);
    if (t < settle) continue;
    ++n;
    r.mean_rate += static_cast<double>(s.delivered) * 8 / kTick;
    r.mean_queue += up.queue_seconds();
    r.max_queue = std::max(r.max_queue, up.queue_seconds());
  }
  r.mean_rate /= n;
  r.mean_queue /= n;
  return r;
}

}  // namespace

TEST_CASE("pace: none until the host had more to send than went out for a whole measurement") {
  PaceControl c;
  CHECK(c.update({0, 1000, true}) == 0);
  // A relay's handshakes, then a stripe trickling in from its parent.
  for (int i = 0; i < 40; ++i) CHECK(c.update(at(3000, false)) == 0);
  // Bursts that the link took in half a second each.
  for (int i = 0; i < 40; ++i) CHECK(c.update(at(4e6, i % 4 < 2)) == 0);
  // Held, but not yet for kAverage.
  for (int i = 0; i < PaceControl::kAverage / kTick - 1; ++i) CHECK(c.update(at(4e6)) == 0);
  CHECK(c.link() == 0);
  CHECK(c.update(at(4e6)) > 0);
  CHECK(c.link() == Approx(4e6).epsilon(1e-6));
}

TEST_CASE("pace: a drain at first, then 97% of the link, a quarter more one second in ten and less the next") {
  PaceControl c;
  const double link = 4e6;
  std::vector<double> paces;
  for (int i = 0; i < 400; ++i) paces.push_back(static_cast<double>(c.update(at(link))));
  const std::size_t first = static_cast<std::size_t>(PaceControl::kAverage / kTick) - 1;
  CHECK(paces[first - 1] == 0);
  for (std::size_t i = first; i < first + PaceControl::kDrain / kTick; ++i)
    CHECK(paces[i] == Approx(PaceControl::kDrainGain * link));
  int probing = 0, draining = 0, cruising = 0;
  for (std::size_t i = first + PaceControl::kDrain / kTick; i < paces.size(); ++i) {
    if (paces[i] == Approx(PaceControl::kProbeGain * PaceControl::kGain * link))
      ++probing;
    else if (paces[i] == Approx(PaceControl::kDrainGain * link))
      ++draining;
    else if (paces[i] == Approx(PaceControl::kGain * link))
      ++cruising;
    // A drain follows every probe.
    if (i > 0 && paces[i - 1] == Approx(PaceControl::kProbeGain * PaceControl::kGain * link))
      CHECK((paces[i] == paces[i - 1] || paces[i] == Approx(PaceControl::kDrainGain * link)));
  }
  const int all = probing + draining + cruising;
  CHECK(all == static_cast<int>(paces.size() - first - PaceControl::kDrain / kTick));
  CHECK(static_cast<double>(probing) / all == Approx(1 / PaceControl::kCycle).epsilon(0.05));
  CHECK(static_cast<double>(draining) / all == Approx(1 / PaceControl::kCycle).epsilon(0.05));
}

TEST_CASE("pace: the link's rate never goes down, and a faster link is found") {
  PaceControl c;
  for (int i = 0; i < 40; ++i) c.update(at(4e6));
  const std::uint64_t now = c.update(at(4e6));
  CHECK(c.update({0, 0, false}) == now);  // a sample of no time changes nothing
  // Children's downlinks crowded, a parent slow, a child acknowledging slowly
  // on purpose: delivered less, held or not.
  for (int i = 0; i < 400; ++i) c.update(at(1e6, i % 2));
  CHECK(c.link() == Approx(4e6).epsilon(1e-6));
  // A link faster than measured: each probe adds what it found.
  PaceControl d;
  std::uint64_t pace = 0;
  Uplink up{4e6};
  drive(d, pace, up, 100e6, 20, 0);
  CHECK(d.link() == Approx(4e6).epsilon(0.02));
  up.link = 6e6;
  drive(d, pace, up, 100e6, 240, 0);
  CHECK(d.link() >= 0.9 * 6e6);  // about 3% a cycle
}

TEST_CASE("pace: a backlogged host runs near its link's rate, with the queue its start made drained") {
  for (double link : {1e6, 4e6, 200e6, 10e9}) {
    CAPTURE(link);
    PaceControl c;
    std::uint64_t pace = 0;
    Uplink up{link};
    const Run r = drive(c, pace, up, 10 * link, 120, 15);
    CHECK(r.mean_rate >= 0.96 * link);
    CHECK(r.mean_queue < 0.1);
    CHECK(r.max_queue < 0.25);
    // Unpaced, the same host keeps the buffer full.
    Uplink unpaced{link};
    for (int i = 0; i < 40; ++i) unpaced.run(2 * link, 2 * link);
    CHECK(unpaced.queue_seconds() > 0.9);
  }
}

TEST_CASE("pace: samples that come late (a busy CPU) measure the link all the same") {
  PaceControl c;
  // 4 Mbit/s, sampled every quarter second, then every 3 s.
  for (int i = 0; i < 8; ++i) c.update({kTick, static_cast<std::uint64_t>(4e6 * kTick / 8), true});
  for (int i = 0; i < 4; ++i) c.update({3.0, static_cast<std::uint64_t>(4e6 * 3.0 / 8), true});
  CHECK(c.link() == Approx(4e6).epsilon(1e-6));
}

TEST_CASE("pace: a connection that holds its host back gets its share of the measured rate as the kernel's pace") {
  // On loopback, a reader that takes about 8 MB/s is the link: the writer
  // always has bytes waiting, and the host's pace follows what the reader took.
  int port = 0;
  wire::Socket listener = wire::listen_tcp("127.0.0.1", &port);
  wire::Socket out = wire::connect_tcp("127.0.0.1", port, 2000);
  wire::Socket in = wire::accept_tcp(listener);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    std::vector<char> buf(64 * 1024);
    while (!stop) {
      if (::recv(in.fd(), buf.data(), buf.size(), 0) <= 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(8));
    }
  });
  std::thread writer([&] {
    const std::vector<char> buf(1 << 20, 'x');
    while (!stop && out.write_all(buf.data(), buf.size())) {
    }
  });
  auto pacing = [&] {
    unsigned rate = 0;
    socklen_t len = sizeof rate;
    getsockopt(out.fd(), SOL_SOCKET, SO_MAX_PACING_RATE, &rate, &len);
    return rate;
  };
  {
    wire::Pace pace;
    const wire::PaceWatch watch(&pace, out.fd());
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    CHECK(pace.link() == 0);  // not yet a whole measurement
    CHECK(pacing() == ~0U);
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    const double link = static_cast<double>(pace.link());
    CHECK(link > 0.25 * 8e6 * 8);  // the reader is slower on a busy machine
    CHECK(link < 1.5 * 8e6 * 8 * 1514 / 1448);
    // Draining, the host's one connection paced at 75% of the link.
    CHECK(static_cast<double>(pacing()) ==
          Approx(wire::payload_rate(static_cast<std::uint64_t>(PaceControl::kDrainGain * link))).epsilon(0.15));
  }
  stop = true;
  out.shutdown();
  in.shutdown();
  writer.join();
  reader.join();
}
