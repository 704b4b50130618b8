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

namespace {

double payload(std::uint64_t bits_per_s) { return bits_per_s ? wire::payload_rate(bits_per_s) : 0; }

}  // namespace

double node_upload(const Node& node, const Options& o) {
  const double cap = payload(relay_cap(node, o)), up = payload(node.uplink);
  return cap == 0 ? up : up == 0 ? cap : std::min(cap, up);
}

std::vector<bool> leaf_only(const std::vector<const NodeRun*>& loaders, const Options& o) {
  std::vector<double> up;
  for (const NodeRun* r : loaders) up.push_back(node_upload(r->node, o));
  return topology::slow_uploaders(up);
}

topology::Predictions predict(const std::vector<NodeRun>& runs, const Bundle& bundle, const Options& o) {
  std::vector<const NodeRun*> loaders;
  std::vector<PartList> needs;
  topology::Rates rates;
  rates.source = payload(source_cap(o));
  std::vector<double> links;  // what the inventory says of the nodes' links
  for (const auto& r : runs) {
    if (!r.loads()) continue;
    loaders.push_back(&r);
    needs.push_back(r.need);
    rates.node.push_back(node_upload(r.node, o));
    rates.down.push_back(payload(r.node.downlink));
    links.push_back(payload(r.node.uplink));
    links.push_back(payload(r.node.downlink));
  }
  if (loaders.empty()) return {};
  // Links the inventory leaves out are taken to be like the median of those
  // it gives; with no rate at all, every link is one unit.
  rates.link = topology::median_known(links);
  auto none = [](const std::vector<double>& v) { return std::all_of(v.begin(), v.end(), [](double r) { return r == 0; }); };
  const bool relative = rates.source == 0 && rates.link == 0 && none(rates.node);
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
                              : topology::stripes_seconds(topology::stripe_plan(loaders.size(), o.fanout, leaf_only(loaders, o)),
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
