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

namespace {

// Past kMaxRows nodes the table keeps what needs a look: the nodes that
// failed or are not done (up to kFailedRows), then the slowest of the rest
// (kSlowestRows); lines below count what it leaves out. The --json report
// has every node.
constexpr std::size_t kMaxRows = 40;
constexpr std::size_t kFailedRows = 20;
constexpr std::size_t kSlowestRows = 10;
constexpr std::size_t kReasons = 3;  // the most common failures named for the failed rows left out

bool succeeded(const NodeResult& r) {
  return r.outcome == Outcome::Loaded || r.outcome == Outcome::Tagged || r.outcome == Outcome::Skipped;
}

std::string failure_of(const NodeResult& r) { return (r.step.empty() ? "" : r.step + ": ") + r.reason; }

// "N more failed: 975 x probe: no runtime; 5 x load: ..." for the failed rows left out.
std::string failed_left_out(const std::vector<const NodeResult*>& rest) {
  std::map<std::string, std::size_t> by_reason;
  for (const NodeResult* r : rest) ++by_reason[printable(failure_of(*r))];
  std::vector<std::pair<std::size_t, std::string>> common;
  for (const auto& [reason, n] : by_reason) common.emplace_back(n, reason);
  std::stable_sort(common.begin(), common.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string line = "... " + std::to_string(rest.size()) + " more failed or not done: ";
  for (std::size_t i = 0; i < common.size() && i < kReasons; ++i)
    line += (i ? "; " : "") + std::to_string(common[i].first) + " x " + common[i].second;
  if (common.size() > kReasons) line += "; " + std::to_string(common.size() - kReasons) + " other reason(s)";
  return line;
}

// "N more: A loaded, B tagged, C skipped, X to Y s" for the succeeded rows left out.
std::string succeeded_left_out(const std::vector<const NodeResult*>& rest) {
  std::map<Outcome, std::size_t> counts;
  double lo = rest.front()->seconds, hi = lo;
  for (const NodeResult* r : rest) {
    ++counts[r->outcome];
    lo = std::min(lo, r->seconds), hi = std::max(hi, r->seconds);
  }
  std::string line = "... " + std::to_string(rest.size()) + " more: ";
  bool first = true;
  for (Outcome o : {Outcome::Loaded, Outcome::Tagged, Outcome::Skipped})
    if (counts[o]) line += (first ? "" : ", ") + std::to_string(counts[o]) + " " + outcome_name(o), first = false;
  char span[64];
  std::snprintf(span, sizeof span, ", %.1f to %.1f s", lo, hi);
  return line + span;
}

}  // namespace

void print_summary(std::ostream& out, const std::vector<NodeResult>& results, std::uint64_t source_bytes,
                   std::uint64_t bundle_size, const char* whole) {
  std::vector<const NodeResult*> shown, failed_rest, ok_rest;
  if (results.size() <= kMaxRows) {
    for (const auto& r : results) shown.push_back(&r);
  } else {
    std::vector<const NodeResult*> ok;
    for (const auto& r : results) {
      if (succeeded(r))
        ok.push_back(&r);
      else
        (shown.size() < kFailedRows ? shown : failed_rest).push_back(&r);
    }
    std::stable_sort(ok.begin(), ok.end(), [](const NodeResult* a, const NodeResult* b) { return a->seconds > b->seconds; });
    std::size_t slowest = std::min(ok.size(), kSlowestRows);
    shown.insert(shown.end(), ok.begin(), ok.begin() + static_cast<std::ptrdiff_t>(slowest));
    ok_rest.assign(ok.begin() + static_cast<std::ptrdiff_t>(slowest), ok.end());
  }
  std::size_t name_w = 4, host_w = 4;
  std::size_t runtime_w = 7;
  // The runtime, its store and a failure's reason are what a node said: shown
  // escaped, so a node cannot write control sequences to the terminal.
  auto runtime_of = [](const NodeResult& r) { return r.runtime.empty() ? "-" : printable(r.runtime + "/" + r.store); };
  for (const NodeResult* r : shown) {
    name_w = std::max(name_w, r->node.size());
    host_w = std::max(host_w, r->host.size());
    runtime_w = std::max(runtime_w, runtime_of(*r).size());
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-*s  %-*s  %-8s  %10s  %7s  %s\n", int(name_w), "NODE", int(host_w), "HOST",
                int(runtime_w), "RUNTIME", "RESULT", "RECEIVED", "SECONDS", "DETAIL");
  out << line;
  for (const NodeResult* r : shown) {
    std::string detail = succeeded(*r) ? "" : failure_of(*r);
    if (r->via_ssh) detail += (detail.empty() ? "" : "; ") + std::string("fed over SSH (no TCP route to its relay)");
    if (r->refused > 0)
      detail += (detail.empty() ? "" : "; ") + std::string("refused ") + std::to_string(r->refused) +
                " connection(s) without the edge key";
    std::snprintf(line, sizeof line, "%-*s  %-*s  %-*s  %-8s  %10s  %7.1f  ", int(name_w), r->node.c_str(),
                  int(host_w), r->host.c_str(), int(runtime_w), runtime_of(*r).c_str(), outcome_name(r->outcome),
                  human_bytes(r->bytes).c_str(), r->seconds);
    out << line << printable(detail) << "\n";
  }
  if (!failed_rest.empty()) out << failed_left_out(failed_rest) << "\n";
  if (!ok_rest.empty()) out << succeeded_left_out(ok_rest) << " (every node is in the --json report)\n";
  std::map<Outcome, int> counts;
  for (const auto& r : results) ++counts[r.outcome];
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
  return std::all_of(results.begin(), results.end(), succeeded);
}

}  // namespace treesync
