#include "src/delivery.h"

#include <iostream>

#include "src/tree_delivery.h"

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

std::uint64_t deliver_flat(std::vector<NodeRun>& runs, const DeliveryInput& in) {
  std::atomic<std::uint64_t> source_bytes{0};
  for_each_node(runs, static_cast<std::size_t>(in.options.max_workers), [&](NodeRun& run) {
    if (!run.loads()) return finish_without_load(run, in.wanted);
    spdlog::info("{}: sending {}", run.node.name, human_bytes(in.archive.size));
    run.relay->set_event_handler([&run](const wire::Json& e) {
      if (e.value("type", "") != "received") return;
      run.status->stage = Stage::Loading;
      spdlog::info("{}: received every byte; docker load finishing", run.node.name);
    });
    run.status->total = in.archive.size;
    run.status->stage = Stage::Receiving;
    run.result.parent = "source";
    std::uint64_t before = 0;
    run.relay->send_archive(in.archive.path, in.archive.size, [&](std::uint64_t n) {
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
  for (const NodeRun* r : loaders) nodes.push_back({r->node.name, r->node.zone});
  return topology::tree_plan(nodes, fanout);
}

std::uint64_t deliver_tree(std::vector<NodeRun>& runs, const DeliveryInput& in) {
  TreeDelivery tree(runs, in);
  return tree.run();
}

void print_plan(std::ostream& out, const std::vector<NodeRun>& runs, const std::string& mode, int fanout) {
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
          << (r->node.zone.empty() ? "" : ", zone " + r->node.zone) << ")\n";
      const auto& kids = plan.children[static_cast<std::size_t>(m)];
      for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, depth + 1});
    }
  } else {
    out << "plan: flat, " << loaders.size() << " node(s) load, the source sends to each\n";
    for (const NodeRun* r : loaders) out << "    " << r->node.name << " (" << r->node.host << ")\n";
  }
  for (const auto& r : runs) {
    if (r.failed())
      out << "  " << r.node.name << ": failed at " << r.result.step << ": " << r.result.reason << "\n";
    else if (!r.loads())
      out << "  " << r.node.name << ": " << action_name(r.decision.action) << "\n";
  }
}

}  // namespace treesync
