#include "src/delivery/delivery.h"

#include <iostream>

#include "src/cache/chain_ids.h"
#include "src/delivery/tree_delivery.h"

namespace treesync {

void finish_without_load(NodeRun& run, const std::vector<WantedImage>& wanted) {
  if (run.decision.action == Action::Skip) {
    run.finish(Outcome::Skipped);
  } else {
    verify_and_tag(run, wanted, nullptr);
    run.finish(Outcome::Tagged);
  }
}

namespace {

void finish_load(NodeRun& run, const std::vector<WantedImage>& wanted) {
  std::vector<std::string> loaded = run.relay->wait_loaded();
  verify_and_tag(run, wanted, &loaded);
  run.finish(Outcome::Loaded);
  spdlog::info("{}: loaded and verified", run.node.name);
}

}  // namespace

void assign_needs(std::vector<NodeRun>& runs, const Bundle& bundle) {
  for (auto& run : runs) {
    if (!run.loads()) continue;
    run.need = needed_parts(bundle, node_chains(run.probe.value("layers", wire::Json::array())));
    run.result.layers = bundle.layers_in(run.need);
  }
}

std::uint64_t deliver_flat(std::vector<NodeRun>& runs, const DeliveryInput& in) {
  std::atomic<std::uint64_t> source_bytes{0};
  const Bundle& bundle = in.prepared.bundle;
  for_each_node(runs, static_cast<std::size_t>(in.options.max_workers), [&](NodeRun& run) {
    if (!run.loads()) return finish_without_load(run, in.wanted);
    check_space(run, bundle.size_of(run.need), bundle.raw_size_of(run.need));
    if (run.failed()) return;
    std::vector<wire::Part> parts = bundle.parts_of(run.need);
    const std::uint64_t size = wire::total_size(parts);
    spdlog::info("{}: sending {} layer(s), {}", run.node.name, run.result.layers, human_bytes(size));
    run.relay->set_event_handler([&run](const wire::Json& e) {
      if (e.value("type", "") != "received") return;
      run.status->stage = Stage::Loading;
      spdlog::info("{}: received every byte; docker load finishing", run.node.name);
    });
    run.status->total = size;
    run.status->stage = Stage::Receiving;
    run.result.parent = "source";
    std::uint64_t before = 0;
    // A flat node loads every part of its stream.
    run.relay->send_stream(parts, positions_in(run.need, run.need), in.reader.stream(run.need), [&](std::uint64_t n) {
      run.result.bytes = n;
      run.status->bytes = n;
      source_bytes += n - before;
      before = n;
    });
    finish_load(run, in.wanted);
  });
  return source_bytes;
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

std::uint64_t deliver_tree(std::vector<NodeRun>& runs, const DeliveryInput& in) {
  TreeDelivery tree(runs, in);
  return tree.run();
}

namespace {

std::string lacks(const NodeRun& r, const PreparedBundle* prepared) {
  if (!prepared) return "";
  const Bundle& b = prepared->bundle;
  return ", lacks " + std::to_string(b.layers_in(r.need)) + " of " + std::to_string(b.layer_count()) +
         " layer(s), " + human_bytes(b.size_of(r.need));
}

}  // namespace

void print_plan(std::ostream& out, const std::vector<NodeRun>& runs, const std::string& mode, int fanout,
                const PreparedBundle* prepared) {
  if (prepared)
    out << prepared->compression << (prepared->saved ? "; saved into the layer cache" : "; every layer was cached")
        << "\n";
  std::vector<const NodeRun*> loaders;
  for (const auto& r : runs)
    if (r.loads()) loaders.push_back(&r);
  if (mode == "tree") {
    topology::Plan plan = plan_tree(loaders, fanout);
    out << "plan: tree, fanout " << fanout << ", depth " << plan.depth() << ", " << loaders.size()
        << " node(s) load\n  source\n";
    std::vector<std::pair<int, int>> stack;  // (member, depth), depth-first
    for (auto it = plan.source_children.rbegin(); it != plan.source_children.rend(); ++it) stack.push_back({*it, 1});
    while (!stack.empty()) {
      auto [m, depth] = stack.back();
      stack.pop_back();
      const NodeRun* r = loaders[static_cast<std::size_t>(m)];
      out << "  " << std::string(static_cast<std::size_t>(depth) * 2, ' ') << r->node.name << " (" << r->node.host
          << (r->node.zone.empty() ? "" : ", zone " + r->node.zone) << lacks(*r, prepared) << ")\n";
      const auto& kids = plan.children[static_cast<std::size_t>(m)];
      for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, depth + 1});
    }
  } else {
    out << "plan: flat, " << loaders.size() << " node(s) load, the source sends to each\n";
    for (const NodeRun* r : loaders) out << "    " << r->node.name << " (" << r->node.host << lacks(*r, prepared) << ")\n";
  }
  for (const auto& r : runs) {
    if (r.failed())
      out << "  " << r.node.name << ": failed at " << r.result.step << ": " << r.result.reason << "\n";
    else if (!r.loads())
      out << "  " << r.node.name << ": " << action_name(r.decision.action) << "\n";
  }
}

}  // namespace treesync
