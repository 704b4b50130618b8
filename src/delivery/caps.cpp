#include "src/delivery/caps.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "src/cache/bundle_plan.h"
#include "src/delivery/delivery.h"
#include "src/input/rate.h"
#include "src/wire/rate_limiter.h"
#include "src/wire/protocol.h"
#include "src/wire/stripe_map.h"

namespace treesync {

std::uint64_t source_cap(const Options& o) { return o.source_limit ? o.source_limit : o.limit_rate; }

std::uint64_t relay_cap(const Node& node, const Options& o) { return node.limit ? node.limit : o.limit_rate; }

topology::Predictions predict(const std::vector<NodeRun>& runs, const Bundle& bundle, const Options& o) {
  std::vector<const NodeRun*> loaders;
  std::vector<PartList> needs;
  topology::Rates rates;
  rates.source = source_cap(o) ? wire::payload_rate(source_cap(o)) : 0;
  for (const auto& r : runs) {
    if (!r.loads()) continue;
    loaders.push_back(&r);
    needs.push_back(r.need);
    const std::uint64_t cap = relay_cap(r.node, o);
    rates.node.push_back(cap ? wire::payload_rate(cap) : 0);
  }
  const bool relative = rates.source == 0 && std::all_of(rates.node.begin(), rates.node.end(), [](double r) { return r == 0; });
  if (relative) rates.link = 1;
  // Relative, a chunk costs its share of a copy's time.
  std::vector<std::uint64_t> own, streams;
  PartList all;
  for (const auto& need : needs) {
    own.push_back(bundle.size_of(need));
    all = merge_parts(all, need);
  }
  topology::Plan tree = plan_tree(loaders, o.fanout);
  for (const auto& list : subtree_streams(tree, needs)) streams.push_back(bundle.size_of(list));
  topology::Predictions p{topology::flat_seconds(own, rates),
                          topology::tree_seconds(tree, streams, rates, wire::kChunkSize),
                          o.fanout > wire::kMaxStripes
                              ? std::nullopt
                              : topology::stripes_seconds(topology::stripe_plan(loaders.size(), o.fanout),
                                                          bundle.size_of(all), rates, wire::kChunkSize),
                          relative};
  if (relative) {  // in copies: one copy of the largest need takes 1
    const double copy = static_cast<double>(std::max<std::uint64_t>(1, *std::max_element(own.begin(), own.end())));
    for (auto* t : {&p.flat, &p.tree, &p.stripes})
      if (*t) **t /= copy;
  }
  return p;
}

std::map<std::string, std::uint64_t> own_caps(const std::vector<NodeRun>& runs, const Options& o) {
  std::map<std::string, std::uint64_t> own;
  for (const auto& r : runs)
    if (r.loads() && relay_cap(r.node, o) != o.limit_rate) own[r.node.name] = relay_cap(r.node, o);
  return own;
}

std::string caps_line(const std::vector<NodeRun>& runs, const Options& o) {
  const auto own = own_caps(runs, o);
  if (!source_cap(o) && !o.limit_rate && own.empty()) return "";
  auto text = [](std::uint64_t bps) { return bps ? rate_text(bps) : std::string("uncapped"); };
  std::string line = "caps (on the wire): source " + text(source_cap(o)) + ", relays " + text(o.limit_rate);
  if (!own.empty()) {
    line += " (";
    for (auto it = own.begin(); it != own.end(); ++it)
      line += (it == own.begin() ? "" : ", ") + it->first + " " + rate_text(it->second);
    line += ")";
  }
  return line;
}

std::string prediction_line(const topology::Predictions& p, topology::Mode mode) {
  const auto s = p.of(mode);
  if (!s || p.relative) return "";
  char buf[96];
  std::snprintf(buf, sizeof buf, "predicted under the caps: %.1f s to stream (%s)", *s, topology::mode_name(mode));
  return buf;
}

}  // namespace treesync
