#include "src/report/json_report.h"

#include <ctime>
#include <fstream>
#include <iostream>

namespace treesync {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

wire::Json make_report(const RunSummary& run, const std::vector<NodeResult>& nodes,
                       const std::vector<wire::Json>& extra) {
  auto or_null = [](const std::string& s) { return s.empty() ? wire::Json(nullptr) : wire::Json(s); };
  wire::Json images = wire::Json::array();
  for (const auto& [ref, id] : run.images) images.push_back({{"ref", ref}, {"id", id}});
  wire::Json list = wire::Json::array();
  std::uint64_t relay_bytes = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const NodeResult& n = nodes[i];
    relay_bytes += n.relay_bytes;
    wire::Json j = {{"name", n.node},       {"host", n.host},
                    {"outcome", outcome_name(n.outcome)},
                    {"runtime", n.runtime.empty() ? wire::Json(nullptr)
                                                  : wire::Json{{"name", n.runtime},
                                                               {"version", n.runtime_version},
                                                               {"store", n.store},
                                                               {"arch", n.arch},
                                                               {"sudo", n.sudo}}},
                    {"action", or_null(n.action)},
                    {"parent", or_null(n.parent)}, {"refused_connections", n.refused}, {"via_ssh", n.via_ssh},
                    {"relay", or_null(n.relay)},
                    {"bytes", n.bytes},     {"layers", n.layers},   {"seconds", n.seconds},
                    {"step", or_null(n.step)}, {"error", or_null(n.reason)}};
    if (i < extra.size()) j.update(extra[i]);
    list.push_back(j);
  }
  wire::Json report = {{"treesync_report", 1},
          {"version", TREESYNC_VERSION},
          {"command", run.command},
          {"mode", or_null(run.mode)},
          {"fanout", run.fanout},
          {"dry_run", run.dry_run},
          {"started", run.started},
          {"seconds", run.seconds},
          {"images", images},
          {"archive", run.bundle ? wire::Json{{"bytes", run.bundle->bundle.size()},
                                              {"reused", !run.bundle->saved},
                                              {"compression", run.bundle->compression}}
                                 : wire::Json(nullptr)},
          {"source_bytes", run.source_bytes},
          {"relay_bytes", relay_bytes},
          {"exit_status", run.exit_status},
          {"source_cost", {{"cpu_seconds", run.source_cost.cpu_seconds},
                           {"peak_rss_bytes", run.source_cost.peak_rss_bytes},
                           {"peak_threads", run.source_cost.peak_threads},
                           {"peak_fds", run.source_cost.peak_fds}}},
          {"activation", run.tagged_nodes ? wire::Json{{"nodes", run.tagged_nodes},
                                                       {"spread_seconds", run.activation_spread}}
                                          : wire::Json(nullptr)},
          {"nodes", list}};
  if (run.files) {
    std::uint64_t bytes = 0;
    for (const auto& f : run.files->files) bytes += f.raw;
    report["files"] = {{"dest", run.files->dest}, {"files", run.files->files.size()}, {"bytes", bytes},
                       {"delete", run.files->mirror}};
  }
  return report;
}

void add_caps(wire::Json& report, const RunCaps& caps) {
  auto rate_or_null = [](std::uint64_t bps) { return bps ? wire::Json(bps) : wire::Json(nullptr); };
  report["caps"] = {{"source", rate_or_null(caps.source)}, {"relays", rate_or_null(caps.relays)}, {"nodes", caps.nodes}};
  report["predicted_seconds"] = caps.predicted_seconds ? wire::Json(*caps.predicted_seconds) : wire::Json(nullptr);
}

void write_report(const std::string& path, const wire::Json& report) {
  if (path == "-") {
    std::cout << report.dump(2) << "\n";
    return;
  }
  std::ofstream out(path);
  out << report.dump(2) << "\n";
  if (!out) throw std::runtime_error("cannot write the JSON report to " + path);
}

}  // namespace treesync
