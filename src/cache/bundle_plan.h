// Which parts of a run's bundle each node needs, and which each relay passes
// on to each child: layers go only where some node lacks their chain. Pure
// code (no I/O), tested in tests/bundle_plan_test.cpp.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "src/wire/bundle.h"
#include "src/wire/messages.h"
#include "src/cache/wanted_image.h"
#include "topology/plan.h"

namespace treesync {

using PartList = std::vector<std::size_t>;  // indexes into Bundle::parts, rising

// Everything any node of a run could need: each image's config, then each
// distinct layer once, in order of first use. (The relay writes
// manifest.json itself, from the plan's images.)
struct Bundle {
  std::vector<WantedImage> images;
  std::vector<wire::Part> parts;
  std::vector<std::string> layer;  // per part: its diff ID, "" for configs

  std::uint64_t size() const { return wire::total_size(parts); }
  std::uint64_t size_of(const PartList& list) const;
  std::uint64_t raw_size_of(const PartList& list) const;
  std::size_t layers_in(const PartList& list) const;
  std::size_t layer_count() const;
  std::vector<wire::Part> parts_of(const PartList& list) const;  // a stream's part list, for its relay
  std::vector<wire::PlanImage> plan_images() const;               // what the relay writes into manifest.json
};

// Every config, and each layer whose chain the node lacks in
// some image. (docker load skips a layer whose chain exists without opening
// its file, and checks the diff ID of every layer it applies.)
PartList needed_parts(const Bundle& bundle, const std::set<std::string>& node_chains);

PartList merge_parts(const PartList& a, const PartList& b);
bool contains_parts(const PartList& whole, const PartList& some);
// Where each of `some` sits in `whole` (some ⊆ whole): how a relay names the
// parts of its stream to forward.
std::vector<std::size_t> positions_in(const PartList& whole, const PartList& some);

// Per node of the plan, the parts its stream carries: its own needs and its
// whole subtree's.
std::vector<PartList> subtree_streams(const topology::Plan& plan, const std::vector<PartList>& needs);

}  // namespace treesync
