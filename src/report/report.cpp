#include "src/report/report.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "src/errors.h"

namespace treesync {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Pending: return "not done";
    case Outcome::Loaded: return "loaded";
    case Outcome::Tagged: return "tagged";
    case Outcome::Skipped: return "skipped";
    case Outcome::Failed: return "failed";
  }
  return "?";
}

std::map<std::string, std::size_t> outcome_counts(const std::vector<NodeResult>& results) {
  std::map<std::string, std::size_t> counts;
  for (Outcome o : {Outcome::Pending, Outcome::Loaded, Outcome::Tagged, Outcome::Skipped, Outcome::Failed})
    counts[outcome_name(o)] = 0;
  for (const auto& r : results) ++counts[outcome_name(r.outcome)];
  return counts;
}

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

void print_summary(std::ostream& out, const std::vector<NodeResult>& results, std::uint64_t source_bytes,
                   std::uint64_t bundle_size, const char* whole) {
  std::size_t name_w = 4, host_w = 4;
  std::size_t runtime_w = 7;
  // The runtime, its store and a failure's reason are what a node said: shown
  // escaped, so a node cannot write control sequences to the terminal.
  auto runtime_of = [](const NodeResult& r) { return r.runtime.empty() ? "-" : printable(r.runtime + "/" + r.store); };
  for (const auto& r : results) {
    name_w = std::max(name_w, r.node.size());
    host_w = std::max(host_w, r.host.size());
    runtime_w = std::max(runtime_w, runtime_of(r).size());
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-*s  %-*s  %-8s  %10s  %7s  %s\n", int(name_w), "NODE", int(host_w), "HOST",
                int(runtime_w), "RUNTIME", "RESULT", "RECEIVED", "SECONDS", "DETAIL");
  out << line;
  std::map<Outcome, int> counts;
  for (const auto& r : results) {
    ++counts[r.outcome];
    std::string detail = r.outcome == Outcome::Failed || r.outcome == Outcome::Pending
                             ? (r.step.empty() ? "" : r.step + ": ") + r.reason
                             : "";
    if (r.via_ssh) detail += (detail.empty() ? "" : "; ") + std::string("fed over SSH (no TCP route to its relay)");
    if (r.refused > 0)
      detail += (detail.empty() ? "" : "; ") + std::string("refused ") + std::to_string(r.refused) +
                " connection(s) without the edge key";
    std::snprintf(line, sizeof line, "%-*s  %-*s  %-*s  %-8s  %10s  %7.1f  ", int(name_w), r.node.c_str(), int(host_w),
                  r.host.c_str(), int(runtime_w), runtime_of(r).c_str(), outcome_name(r.outcome),
                  human_bytes(r.bytes).c_str(), r.seconds);
    out << line << printable(detail) << "\n";
  }
  out << results.size() << " node(s): " << counts[Outcome::Loaded] << " loaded, " << counts[Outcome::Tagged]
      << " tagged, " << counts[Outcome::Skipped] << " skipped, " << counts[Outcome::Failed] << " failed";
  if (counts[Outcome::Pending]) out << ", " << counts[Outcome::Pending] << " not done";
  out << "\n";
  if (bundle_size > 0) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2f", static_cast<double>(source_bytes) / static_cast<double>(bundle_size));
    out << "source sent " << human_bytes(source_bytes) << " (" << ratio << " x the " << human_bytes(bundle_size)
        << " of " << whole << ", as sent)\n";
  }
  out << relays_line(results);
}

std::string relays_line(const std::vector<NodeResult>& results) {
  std::size_t cached = 0, sent = 0, lent = 0;
  std::uint64_t bytes = 0;
  for (const auto& r : results) {
    bytes += r.relay_bytes;
    if (r.relay == "cached") ++cached;
    else if (r.relay == "source") ++sent;
    else if (!r.relay.empty()) ++lent;
  }
  if (cached + sent + lent == 0) return "";
  return "relays: " + std::to_string(sent) + " sent by the source (" + human_bytes(bytes) + "), " +
         std::to_string(lent) + " lent by other nodes, " + std::to_string(cached) + " cached\n";
}

bool all_succeeded(const std::vector<NodeResult>& results) {
  return std::all_of(results.begin(), results.end(), [](const NodeResult& r) {
    return r.outcome == Outcome::Loaded || r.outcome == Outcome::Tagged || r.outcome == Outcome::Skipped;
  });
}

}  // namespace treesync
