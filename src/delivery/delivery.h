// Getting the images to the nodes that need them: flat (the source streams
// to each node) or tree (the source streams to its children, every node
// forwards to its own while it loads), both through one path
// (rollout.h). Either way a node's stream holds only the layers it (or
// its subtree) lacks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/cache/bundle_reader.h"
#include "src/cache/layer_cache.h"
#include "src/delivery/node_run.h"
#include "topology/plan.h"

namespace treesync {

struct DeliveryInput {
  const std::vector<WantedImage>& wanted;
  const PreparedBundle& prepared;
  const BundleReader& reader;
  const Options& options;
  const wire::FilesProbe* files = nullptr;  // the files payload instead of images
};

// From each loading node's probe: the parts of the bundle it lacks.
void assign_needs(std::vector<NodeRun>& runs, const Bundle& bundle);

// Returns the stream bytes the source itself sent. Nodes that only need
// tags are tagged; nodes that need nothing are marked skipped.
std::uint64_t deliver(std::vector<NodeRun>& runs, const DeliveryInput& in, topology::Mode mode);

// For a node that loads nothing: tag it, or mark it skipped.
void finish_without_load(NodeRun& run, const std::vector<WantedImage>& wanted, bool pin);

// The tree over the nodes that load, in the order of `loaders`; nodes that
// lack the same layers are kept together, within their zone.
topology::Plan plan_tree(const std::vector<const NodeRun*>& loaders, int fanout);
void print_plan(std::ostream& out, const std::vector<NodeRun>& runs, const std::string& mode, const Options& options,
                const PreparedBundle* prepared);

}  // namespace treesync
