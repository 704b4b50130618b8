#include "src/delivery/status.h"

#include <cstdio>
#include <iostream>

#include "src/report/events.h"
#include "src/report/json_report.h"
#include "src/delivery/run_setup.h"
#include "src/delivery/staged_ref.h"

namespace treesync {
namespace {

// "present", "staged" (by treesync stage, not active), "tag missing" or
// "missing" for one reference on one node.
std::string image_state(const NodeRun& run, const std::string& id, const std::string& ref) {
  auto it = run.probe.images.find(id);
  if (it == run.probe.images.end() || !it->second.present) return "missing";
  const auto& tags = it->second.tags;
  if (std::find(tags.begin(), tags.end(), ref) != tags.end()) return "present";
  return std::find(tags.begin(), tags.end(), staged_ref(ref)) != tags.end() ? "staged" : "tag missing";
}

// The files payload, as one column: all in place, or what the node lacks.
std::string files_state(const NodeRun& run) {
  if (run.decision.action == Action::Skip) return "present";
  return run.need.empty() ? "other changes" : "lacks " + std::to_string(run.need.size()) + " file(s)";
}

}  // namespace

int run_status(const Options& o) {
  std::unique_ptr<RunSetup> s = setup_and_probe(o);
  s->close_relays(static_cast<std::size_t>(o.max_workers));
  const SourceCost cost = s->cost.now();
  auto images = s->image_ids(o);
  if (s->files) images = {{o.dest, ""}};

  std::ostream& out = o.json_path == "-" || o.events_path == "-" ? std::cerr : std::cout;
  std::size_t name_w = 4, host_w = 4;
  for (const auto& run : s->runs) {
    name_w = std::max(name_w, run.node.name.size());
    host_w = std::max(host_w, run.node.host.size());
  }
  char cell[512];
  std::snprintf(cell, sizeof cell, "%-*s  %-*s  %-40s  %10s", int(name_w), "NODE", int(host_w), "HOST", "RUNTIME", "FREE");
  out << cell;
  auto column = [](const std::string& ref) { return static_cast<int>(std::max<std::size_t>(ref.size(), 11)); };
  for (const auto& [ref, id] : images) {
    std::snprintf(cell, sizeof cell, "  %-*s", column(ref), ref.c_str());
    out << cell;
  }
  out << "\n";

  bool all_present = true;
  std::vector<wire::Json> extra;
  for (const auto& run : s->runs) {
    wire::Json node_images = wire::Json::object();
    if (run.failed()) {
      all_present = false;
      std::snprintf(cell, sizeof cell, "%-*s  %-*s  unreachable: %s: %s", int(name_w), run.node.name.c_str(),
                    int(host_w), run.node.host.c_str(), run.result.step.c_str(), run.result.reason.c_str());
      out << cell << "\n";
      extra.push_back({{"images", nullptr}});
      continue;
    }
    std::snprintf(cell, sizeof cell, "%-*s  %-*s  %-40s  %10s", int(name_w), run.node.name.c_str(), int(host_w),
                  run.node.host.c_str(), runtime_line(run.probe).c_str(), human_bytes(run.probe.root_free).c_str());
    out << cell;
    for (const auto& [ref, id] : images) {
      std::string state = s->files ? files_state(run) : image_state(run, id, ref);
      all_present = all_present && state == "present";
      node_images[ref] = state;
      std::snprintf(cell, sizeof cell, "  %-*s", column(ref), state.c_str());
      out << cell;
    }
    out << "\n";
    extra.push_back({{"images", node_images}, {"free_bytes", run.probe.root_free}});
  }
  out << source_cost_line(cost) << "\n";
  int status = shutdown_exit_code() ? shutdown_exit_code() : all_present ? 0 : 1;
  const double seconds = std::chrono::duration<double>(Clock::now() - s->t0).count();
  if (!o.json_path.empty()) {
    RunSummary summary{"status", "", 0, false, s->started, seconds, images, nullptr, 0, status};
    summary.source_cost = cost;
    summary.files = s->files_target();
    write_report(o.json_path, make_report(summary, s->results(), extra));
  }
  events::emit("run_finished", "",
               {{"exit_status", status}, {"seconds", seconds}, {"source_bytes", 0},
                {"outcomes", outcome_counts(s->results())}});
  return status;
}

}  // namespace treesync
