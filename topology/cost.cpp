#include "topology/cost.h"

#include <algorithm>
#include <cstddef>
#include <numeric>

namespace topology {
namespace {

// The lower of two rates, where 0 is unknown.
double lower(double a, double b) { return a == 0 ? b : b == 0 ? a : std::min(a, b); }

}  // namespace

double upload_rate(double cap, double link) { return lower(cap, link); }

namespace {

// The node's downlink, or the link's (0: unknown).
double downlink(const Rates& rates, std::size_t i) { return lower(i < rates.down.size() ? rates.down[i] : 0, rates.link); }

}  // namespace

std::optional<double> flat_seconds(const std::vector<std::uint64_t>& bytes, const Rates& rates) {
  const double total = std::accumulate(bytes.begin(), bytes.end(), 0.0);
  const double upload = upload_rate(rates.source, rates.link);
  if (total == 0) return 0.0;
  if (upload == 0) return std::nullopt;
  double t = total / upload;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    if (const double down = downlink(rates, i); down > 0) t = std::max(t, static_cast<double>(bytes[i]) / down);
  return t;
}

double median_known(std::vector<double> rates) {
  rates.erase(std::remove(rates.begin(), rates.end(), 0.0), rates.end());
  if (rates.empty()) return 0;
  std::nth_element(rates.begin(), rates.begin() + static_cast<std::ptrdiff_t>(rates.size() / 2), rates.end());
  return rates[rates.size() / 2];
}

std::vector<bool> slow_uploaders(const std::vector<double>& up) {
  std::vector<bool> slow(up.size(), false);
  if (std::count_if(up.begin(), up.end(), [](double r) { return r > 0; }) < 2) return slow;  // nothing to compare with
  const double median = median_known(up);
  for (std::size_t i = 0; i < up.size(); ++i) slow[i] = up[i] > 0 && up[i] < median / 3;
  return slow;
}

std::optional<double> tree_seconds(const Plan& plan, const std::vector<std::uint64_t>& bytes, const Rates& rates,
                                   std::uint64_t chunk) {
  auto share = [&](int sender) {
    if (sender == kSource)
      return upload_rate(rates.source, rates.link) / static_cast<double>(plan.source_children.size());
    const auto s = static_cast<std::size_t>(sender);
    const double cap = s < rates.node.size() ? rates.node[s] : 0;
    return upload_rate(cap, rates.link) / static_cast<double>(plan.children[s].size());
  };
  double slowest = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    if (plan.parent[i] == kDetached) continue;
    double rate = downlink(rates, i);
    int relays = 0;  // above node i
    for (int at = static_cast<int>(i); at != kSource; at = plan.parent[static_cast<std::size_t>(at)]) {
      rate = lower(rate, share(plan.parent[static_cast<std::size_t>(at)]));
      if (plan.parent[static_cast<std::size_t>(at)] != kSource) ++relays;
    }
    if (rate == 0) return std::nullopt;
    slowest = std::max(slowest, (static_cast<double>(bytes[i]) + relays * static_cast<double>(chunk)) / rate);
  }
  return slowest;
}

std::optional<double> stripes_seconds(const Stripes& stripes, std::uint64_t bytes, const Rates& rates,
                                      std::uint64_t chunk) {
  const std::size_t k = stripes.trees.size();
  if (stripes.size() == 0 || k == 0) return 0.0;
  // A sender's edges in all trees share its upload.
  std::vector<std::size_t> edges(stripes.size(), 0);
  std::size_t source_edges = 0;
  for (const Plan& t : stripes.trees) {
    source_edges += t.source_children.size();
    for (std::size_t i = 0; i < t.size(); ++i) edges[i] += t.children[i].size();
  }
  auto share = [&](int sender) {
    if (sender == kSource) return upload_rate(rates.source, rates.link) / static_cast<double>(source_edges);
    const auto s = static_cast<std::size_t>(sender);
    const double cap = s < rates.node.size() ? rates.node[s] : 0;
    return upload_rate(cap, rates.link) / static_cast<double>(edges[s]);
  };
  const double stripe_bytes = static_cast<double>(bytes) / static_cast<double>(k);
  double slowest = 0;
  for (std::size_t i = 0; i < stripes.size(); ++i)
    if (const double down = downlink(rates, i); down > 0) slowest = std::max(slowest, static_cast<double>(bytes) / down);
  for (const Plan& t : stripes.trees) {
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t.parent[i] == kDetached) continue;
      double rate = 0;
      int relays = 0;
      for (int at = static_cast<int>(i); at != kSource; at = t.parent[static_cast<std::size_t>(at)]) {
        rate = lower(rate, share(t.parent[static_cast<std::size_t>(at)]));
        if (t.parent[static_cast<std::size_t>(at)] != kSource) ++relays;
      }
      if (rate == 0) return std::nullopt;
      slowest = std::max(slowest, (stripe_bytes + relays * static_cast<double>(chunk)) / rate);
    }
  }
  return slowest;
}

std::optional<double> Predictions::of(Mode mode) const {
  return mode == Mode::Flat ? flat : mode == Mode::Tree ? tree : stripes;
}

Mode choose_mode(std::size_t node_count, const Predictions& predicted) {
  std::optional<Mode> best;
  for (Mode m : {Mode::Flat, Mode::Stripes, Mode::Tree}) {
    const auto t = predicted.of(m);
    if (t && (!best || *t < *predicted.of(*best))) best = m;
  }
  if (best) return *best;
  return node_count <= 1 ? Mode::Flat : Mode::Stripes;
}

}  // namespace topology
