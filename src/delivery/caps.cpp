#include "src/delivery/caps.h"

#include <cstdio>
#include <map>

#include "src/cache/bundle_plan.h"
#include "src/delivery/delivery.h"
#include "src/input/rate.h"
#include "src/wire/rate_limiter.h"
#include "src/wire/protocol.h"

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
  std::vector<std::uint64_t> own, streams;
  for (const auto& need : needs) own.push_back(bundle.size_of(need));
  topology::Plan tree = plan_tree(loaders, o.fanout);
  for (const auto& list : subtree_streams(tree, needs)) streams.push_back(bundle.size_of(list));
  return {topology::flat_seconds(own, rates),
          topology::tree_seconds(tree, streams, rates, wire::kChunkSize)};
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
  const auto& s = mode == topology::Mode::Tree ? p.tree : p.flat;
  if (!s) return "";
  char buf[96];
  std::snprintf(buf, sizeof buf, "predicted under the caps: %.1f s to stream (%s)", *s,
                mode == topology::Mode::Tree ? "tree" : "flat");
  return buf;
}

}  // namespace treesync
