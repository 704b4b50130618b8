#include "src/cache/bundle_plan.h"

#include <algorithm>
#include <iterator>
#include <map>

#include "src/cache/chain_ids.h"

namespace treesync {
std::uint64_t Bundle::size_of(const PartList& list) const {
  std::uint64_t n = 0;
  for (std::size_t i : list) n += parts[i].size;
  return n;
}

std::uint64_t Bundle::raw_size_of(const PartList& list) const {
  std::uint64_t n = 0;
  for (std::size_t i : list) n += parts[i].raw;
  return n;
}

std::size_t Bundle::layers_in(const PartList& list) const {
  return static_cast<std::size_t>(std::count_if(list.begin(), list.end(), [&](std::size_t i) { return !layer[i].empty(); }));
}

std::size_t Bundle::layer_count() const {
  return static_cast<std::size_t>(std::count_if(layer.begin(), layer.end(), [](const std::string& d) { return !d.empty(); }));
}

std::vector<wire::Part> Bundle::parts_of(const PartList& list) const {
  std::vector<wire::Part> out;
  for (std::size_t i : list) out.push_back(parts[i]);
  return out;
}

std::vector<wire::PlanImage> Bundle::plan_images() const {
  std::map<std::string, std::uint64_t> raw;  // by digest: every config and layer is a part
  for (const auto& p : parts) raw[p.digest] = p.raw;
  std::vector<wire::PlanImage> out;
  for (const auto& img : images) {
    wire::PlanImage plan{img.id, img.diff_ids, raw.at(img.id), {}};
    for (const auto& diff : img.diff_ids) plan.layer_sizes.push_back(raw.at(diff));
    out.push_back(plan);
  }
  return out;
}

PartList needed_parts(const Bundle& bundle, const std::set<std::string>& node_chains) {
  std::set<std::string> lacking;
  for (const auto& img : bundle.images) {
    std::vector<std::string> chains = chain_ids(img.diff_ids);
    for (std::size_t k = 0; k < chains.size(); ++k)
      if (!node_chains.count(chains[k])) lacking.insert(img.diff_ids[k]);
  }
  PartList out;
  for (std::size_t i = 0; i < bundle.parts.size(); ++i)
    if (bundle.layer[i].empty() || lacking.count(bundle.layer[i])) out.push_back(i);
  return out;
}

PartList merge_parts(const PartList& a, const PartList& b) {
  PartList out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool contains_parts(const PartList& whole, const PartList& some) {
  return std::includes(whole.begin(), whole.end(), some.begin(), some.end());
}

std::vector<std::size_t> positions_in(const PartList& whole, const PartList& some) {
  std::vector<std::size_t> out;
  for (std::size_t i : some)
    out.push_back(static_cast<std::size_t>(std::lower_bound(whole.begin(), whole.end(), i) - whole.begin()));
  return out;
}

std::vector<PartList> subtree_streams(const topology::Plan& plan, const std::vector<PartList>& needs) {
  std::vector<PartList> streams(plan.size());
  auto fill = [&](auto& self, int node) -> const PartList& {
    auto n = static_cast<std::size_t>(node);
    streams[n] = needs[n];
    for (int c : plan.children[n]) streams[n] = merge_parts(streams[n], self(self, c));
    return streams[n];
  };
  for (int root : plan.source_children) fill(fill, root);
  return streams;
}

}  // namespace treesync
