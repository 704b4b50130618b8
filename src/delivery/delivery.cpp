#include "src/delivery/delivery.h"

#include <algorithm>
#include <iostream>

#include "src/cache/chain_ids.h"
#include "src/delivery/caps.h"
#include "src/delivery/rollout.h"
#include "src/report/events.h"
#include "topology/stripes.h"

namespace treesync {

void finish_without_load(NodeRun& run, const std::vector<WantedImage>& wanted, bool pin) {
  if (run.decision.action == Action::Skip) {
    run.finish(Outcome::Skipped);
    events::emit("skipped", run.node.name);
  } else {
    verify_and_tag(run, wanted, nullptr, pin);
    run.finish(Outcome::Tagged);
  }
}

void assign_needs(std::vector<NodeRun>& runs, const Bundle& bundle) {
  for (auto& run : runs) {
    if (!run.loads()) continue;
    run.need = needed_parts(bundle, node_chains(run.probe.layers));
    run.result.layers = bundle.layers_in(run.need);
  }
}

std::uint64_t deliver(std::vector<NodeRun>& runs, const DeliveryInput& in, topology::Mode mode) {
  Rollout rollout(runs, in, mode);
  return rollout.run();
}

topology::Plan plan_tree(const std::vector<const NodeRun*>& loaders, int fanout) {
  std::vector<topology::Node> nodes;
  for (const NodeRun* r : loaders) {
    std::string lacks;  // nodes that lack the same parts share a subtree where the fan-out allows
    for (std::size_t i : r->need) lacks += std::to_string(i) + ",";
    nodes.push_back({r->node.name, r->node.zone + '\n' + lacks});
  }
  return topology::tree_plan(nodes, fanout);
}

namespace {

std::string lacks(const NodeRun& r, const PreparedBundle* prepared) {
  if (!prepared) return "";
  const Bundle& b = prepared->bundle;
  return ", lacks " + std::to_string(b.layers_in(r.need)) + " of " + std::to_string(b.layer_count()) +
         (b.images.empty() ? " file(s), " : " layer(s), ") + human_bytes(b.size_of(r.need));
}

}  // namespace

void print_plan(std::ostream& out, const std::vector<NodeRun>& runs, const std::string& mode, const Options& options,
                const PreparedBundle* prepared) {
  if (prepared)
    out << prepared->compression
        << (!prepared->how.empty() ? "; " + prepared->how : prepared->saved ? "; saved into the layer cache" : "")
        << "\n";
  std::vector<const NodeRun*> loaders;
  for (const auto& r : runs)
    if (r.loads()) loaders.push_back(&r);
  if (mode == "tree") {
    topology::Plan plan = plan_tree(loaders, options.fanout);
    out << "plan: tree, fanout " << options.fanout << ", depth " << plan.depth() << ", " << loaders.size()
        << " node(s) load\n  source\n";
    std::vector<std::pair<int, int>> stack;  // (member, depth), depth-first
    for (auto it = plan.source_children.rbegin(); it != plan.source_children.rend(); ++it) stack.push_back({*it, 1});
    while (!stack.empty()) {
      auto [m, depth] = stack.back();
      stack.pop_back();
      const NodeRun* r = loaders[static_cast<std::size_t>(m)];
      out << "  " << std::string(static_cast<std::size_t>(depth) * 2, ' ') << r->node.name << " (" << r->node.host
          << ", " << runtime_line(r->probe) << (r->node.zone.empty() ? "" : ", zone " + r->node.zone)
          << lacks(*r, prepared) << ")\n";
      const auto& kids = plan.children[static_cast<std::size_t>(m)];
      for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, depth + 1});
    }
  } else if (mode == "stripes") {
    const topology::Stripes st = topology::stripe_plan(loaders.size(), options.fanout, leaf_only(loaders, options));
    int depth = 0;
    for (const auto& t : st.trees) depth = std::max(depth, t.depth());
    out << "plan: stripes, " << st.trees.size() << " striped tree(s), depth " << depth << ", " << loaders.size()
        << " node(s) load, the source sends " << st.source_copies() << (st.source_copies() == 1 ? " copy\n" : " copies\n");
    for (std::size_t m = 0; m < loaders.size(); ++m) {
      const NodeRun* r = loaders[m];
      out << "    " << r->node.name << " (" << r->node.host << ", " << runtime_line(r->probe) << lacks(*r, prepared)
          << ")\n      parents by stripe:";
      for (const auto& t : st.trees) {
        const int p = t.parent[m];
        out << " " << (p == topology::kSource ? std::string("source") : loaders[static_cast<std::size_t>(p)]->node.name);
      }
      // Its own tree first; a helper then the short trees it takes the rest of.
      const int in = st.interior[m];
      out << "\n      forwards: ";
      if (in < 0) out << "nothing (a leaf in every tree)";
      for (std::size_t s = 0; in >= 0 && s < st.trees.size(); ++s) {
        const std::size_t tree = (static_cast<std::size_t>(in) + s) % st.trees.size();
        const auto& kids = st.trees[tree].children[m];
        if (kids.empty()) continue;
        out << (s == 0 ? "" : ", ") << "stripe " << tree << " to";
        for (int c : kids) out << " " << loaders[static_cast<std::size_t>(c)]->node.name;
      }
      out << "\n";
    }
  } else {
    out << "plan: flat, " << loaders.size() << " node(s) load, the source sends to each\n";
    for (const NodeRun* r : loaders)
      out << "    " << r->node.name << " (" << r->node.host << ", " << runtime_line(r->probe) << lacks(*r, prepared)
          << ")\n";
  }
  for (const auto& r : runs) {
    if (r.failed())
      out << "  " << r.node.name << ": failed at " << r.result.step << ": " << r.result.reason << "\n";
    else if (!r.loads())
      out << "  " << r.node.name << ": " << action_name(r.decision.action) << "\n";
  }
}

}  // namespace treesync
