#include "src/report/metrics.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <unistd.h>

namespace treesync {
namespace {

// Enough digits for a Unix time to the millisecond and for byte counts;
// integers print without exponent.
std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

void gauge(std::string& out, const std::string& name, const std::string& help,
           const std::vector<std::pair<std::string, double>>& samples) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
  for (const auto& [labels, value] : samples) out += name + labels + " " + number(value) + "\n";
}

}  // namespace

std::string prometheus_label_value(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out + "\"";
}

std::string prometheus_text(const RunTotals& run) {
  std::string images;
  for (const auto& ref : run.images) images += (images.empty() ? "" : " ") + ref;
  std::string out;
  gauge(out, "treesync_run_info", "The last run: its command, delivery mode, images (space-separated) and version.",
        {{"{command=" + prometheus_label_value(run.command) + ",mode=" + prometheus_label_value(run.mode) +
              ",images=" + prometheus_label_value(images) + ",version=" + prometheus_label_value(TREESYNC_VERSION) +
              "}",
          1}});
  gauge(out, "treesync_run_duration_seconds", "How long the last run took, from start to summary.",
        {{"", run.seconds}});
  gauge(out, "treesync_source_sent_bytes", "Stream bytes the source itself sent in the last run.",
        {{"", static_cast<double>(run.source_bytes)}});
  std::vector<std::pair<std::string, double>> nodes;
  for (const auto& [outcome, count] : run.outcomes)
    nodes.emplace_back("{outcome=" + prometheus_label_value(outcome) + "}", static_cast<double>(count));
  gauge(out, "treesync_nodes", "Nodes of the last run by outcome.", nodes);
  gauge(out, "treesync_source_cpu_seconds", "CPU seconds (user + system) the treesync process used in the last run.",
        {{"", run.source_cost.cpu_seconds}});
  gauge(out, "treesync_source_peak_rss_bytes", "The treesync process's peak resident memory in the last run.",
        {{"", static_cast<double>(run.source_cost.peak_rss_bytes)}});
  gauge(out, "treesync_source_peak_threads", "The most threads the treesync process had at once in the last run (sampled).",
        {{"", static_cast<double>(run.source_cost.peak_threads)}});
  gauge(out, "treesync_source_peak_fds", "The most open files the treesync process had at once in the last run (sampled).",
        {{"", static_cast<double>(run.source_cost.peak_fds)}});
  gauge(out, "treesync_run_timestamp_seconds", "Unix time the last run ended.", {{"", run.finished}});
  gauge(out, "treesync_run_exit_status", "The last run's exit status (0: every node has every image).",
        {{"", static_cast<double>(run.exit_status)}});
  gauge(out, "treesync_last_run_success", "1 if the last run put every image on every node, else 0.",
        {{"", run.exit_status == 0 ? 1.0 : 0.0}});
  return out;
}

void write_metrics(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot " + what + " the metrics file " + path + ": " + why);
  };
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) fail("write");
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
                       ::fsync(fileno(f)) == 0;
  if (std::fclose(f) != 0 || !written) fail("write");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename into");
}

}  // namespace treesync
