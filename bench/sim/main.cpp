// treesync-sim: predicts a rollout's per-node completion times and the
// source's bytes for a plan made by the real topology/ code (flat, K-ary
// tree, chain, striped trees), on a flow-level model of the network
// (flow_sim.h). One run per invocation: a summary row on stdout
// (--header prints the column names first), per-node rows to --nodes-csv.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>

#include <cxxopts.hpp>

#include "bench/sim/flow_sim.h"
#include "bench/sim/summary.h"

namespace {

// round(fraction * n) distinct nodes fail, at least one if the fraction is
// not 0, each at a uniform time in [0, within).
std::vector<sim::Failure> random_failures(std::size_t n, double fraction, double within, std::uint32_t seed) {
  std::vector<int> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<int>(i);
  std::mt19937 rng(seed ^ 0x5eedf00du);  // apart from the slow nodes' choice
  std::shuffle(order.begin(), order.end(), rng);
  std::uniform_real_distribution<double> when(0, within);
  std::vector<sim::Failure> out;
  auto count = static_cast<std::size_t>(fraction * static_cast<double>(n) + 0.5);
  if (fraction > 0) count = std::max<std::size_t>(count, 1);
  for (std::size_t i = 0; i < std::min(count, n); ++i) out.push_back({order[i], when(rng)});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("treesync-sim", "Flow-level simulation of a treesync rollout");
  opts.add_options()
      ("mode", "flat, tree, chain or stripes", cxxopts::value<std::string>()->default_value("stripes"))
      ("nodes", "Number of nodes", cxxopts::value<std::size_t>()->default_value("8"))
      ("fanout", "K: children per sender (tree), stripes (stripes)", cxxopts::value<int>()->default_value("4"))
      ("size-mib", "Bytes every node needs, MiB", cxxopts::value<double>()->default_value("175"))
      ("rate-mbit", "Every node's link, each way, Mbit/s", cxxopts::value<double>()->default_value("200"))
      ("source-rate-mbit", "The source's link, Mbit/s (0: as the nodes')", cxxopts::value<double>()->default_value("0"))
      ("slow-fraction", "Share of nodes on a slow link", cxxopts::value<double>()->default_value("0"))
      ("slow-factor", "A slow node's link, times the rate", cxxopts::value<double>()->default_value("0.1"))
      ("leaf-slow", "Stripes: slow nodes forward nowhere (as when the inventory gives link rates)")
      ("load-mbyte", "A runtime's load rate, MB/s (0: instant)", cxxopts::value<double>()->default_value("0"))
      ("workers", "Flat: most nodes the source serves at once", cxxopts::value<int>()->default_value("10"))
      ("fail-fraction", "Share of nodes whose relay dies during the run", cxxopts::value<double>()->default_value("0"))
      ("fail-within", "Failures happen in [0, this) s (0: the ideal time, size/rate)",
       cxxopts::value<double>()->default_value("0"))
      ("detect", "Seconds from a relay's death to its children's new parents", cxxopts::value<double>()->default_value("2"))
      ("seed", "Seed for the slow nodes and the failures", cxxopts::value<std::uint32_t>()->default_value("1"))
      ("nodes-csv", "Write per-node rows here", cxxopts::value<std::string>())
      ("header", "Print the summary's column names first")
      ("h,help", "Show this help");
  try {
    const auto r = opts.parse(argc, argv);
    if (r.count("help")) {
      std::cout << opts.help() << '\n';
      return 0;
    }
    const auto n = r["nodes"].as<std::size_t>();
    const int fanout = r["fanout"].as<int>();
    const std::string mode = r["mode"].as<std::string>();
    if (n == 0 || fanout < 1) throw std::invalid_argument("--nodes and --fanout must be at least 1");
    sim::NetworkSpec net;
    net.rate = r["rate-mbit"].as<double>() * 1e6 / 8;
    net.source_rate = r["source-rate-mbit"].as<double>() * 1e6 / 8;
    net.slow_fraction = r["slow-fraction"].as<double>();
    net.slow_factor = r["slow-factor"].as<double>();
    net.seed = r["seed"].as<std::uint32_t>();
    const auto hosts = sim::make_network(n, net);
    std::vector<bool> leaf_only(n, false);
    const bool leaf_slow = r.count("leaf-slow") > 0;
    for (std::size_t i = 0; i < n && leaf_slow; ++i) leaf_only[i] = hosts[i].slow;
    sim::Layout layout(sim::parse_shape(mode), n, fanout, leaf_only);

    sim::Scenario sc;
    sc.bytes = static_cast<std::uint64_t>(r["size-mib"].as<double>() * 1024 * 1024);
    sc.load_rate = r["load-mbyte"].as<double>() * 1e6;
    if (sim::parse_shape(mode) == sim::Shape::Flat) sc.source_slots = r["workers"].as<int>();
    sc.detect_s = r["detect"].as<double>();
    double within = r["fail-within"].as<double>();
    if (within <= 0) within = static_cast<double>(sc.bytes) / net.rate;
    sc.failures = random_failures(n, r["fail-fraction"].as<double>(), within, net.seed);

    const auto began = std::chrono::steady_clock::now();
    const sim::Result result = sim::simulate(layout, hosts, sc);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

    if (r.count("nodes-csv")) {
      std::ofstream out(r["nodes-csv"].as<std::string>());
      out << "node,slow,failed,received_s,loaded_s\n";
      for (std::size_t i = 0; i < n; ++i)
        out << i << ',' << hosts[i].slow << ',' << std::isnan(result.received[i]) << ',' << result.received[i] << ','
            << result.loaded[i] << '\n';
      if (!out) throw std::runtime_error("cannot write " + r["nodes-csv"].as<std::string>());
    }
    if (r.count("header")) std::cout << sim::summary_header() << '\n';
    std::cout << sim::summary_row({leaf_slow ? mode + "-leafslow" : mode, n, fanout, net.slow_fraction, r["fail-fraction"].as<double>()}, hosts, sc,
                                  result, wall)
              << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "treesync-sim: " << e.what() << " (see treesync-sim --help)\n";
    return 2;
  }
}
