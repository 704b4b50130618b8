// --metrics FILE: a run's totals in the Prometheus text exposition format,
// for node_exporter's textfile collector. Each run replaces the file whole
// (written beside it, then renamed), so the collector never reads half of
// one; every sample describes the last run, so every metric is a gauge.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "src/report/source_cost.h"

namespace treesync {

struct RunTotals {
  std::string command;  // sync, ...
  std::string mode;     // flat or tree
  std::vector<std::string> images;               // references, in order
  double seconds = 0;                            // the run's duration
  std::uint64_t source_bytes = 0;                // stream bytes the source sent
  std::map<std::string, std::size_t> outcomes;   // every outcome's name -> nodes (zeros included)
  double finished = 0;                           // Unix time the run ended
  int exit_status = 0;
  SourceCost source_cost{};                      // what the run cost the source
};

// The exposition text: HELP and TYPE lines, one sample a line.
std::string prometheus_text(const RunTotals& run);
// A label value as the format quotes it: \ " and newline escaped.
std::string prometheus_label_value(const std::string& value);
// Writes path.tmp, then renames it to path; throws with the path on failure.
void write_metrics(const std::string& path, const std::string& text);

}  // namespace treesync
