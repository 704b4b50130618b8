// The machine-readable report of a run (--json FILE, or - for stdout). The
// schema is docs/report.schema.json; its version only grows compatibly.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/wire/messages.h"
#include "src/wire/protocol.h"
#include "src/cache/layer_cache.h"
#include "src/report/report.h"
#include "src/report/source_cost.h"

namespace treesync {

struct RunSummary {
  std::string command;  // sync, stage, activate or status
  std::string mode;     // flat or tree ("" for status)
  int fanout = 0;
  bool dry_run = false;
  std::string started;  // UTC, ISO 8601
  double seconds = 0;
  std::vector<std::pair<std::string, std::string>> images;  // reference, ID
  const PreparedBundle* bundle = nullptr;                    // null when nothing was to load
  std::uint64_t source_bytes = 0;
  int exit_status = 0;
  // Nodes whose tags this run applied, and the time between the first and
  // the last of their tag replies as the source saw them (activate, sync).
  std::size_t tagged_nodes = 0;
  double activation_spread = 0;
  const wire::FilesProbe* files = nullptr;  // the files payload, if that is what the run carries
  SourceCost source_cost{};
};

// sync: the upload caps in bits/s on the wire (0: none), relays with a cap
// of their own (the inventory's) by name, and the stream time they predict.
struct RunCaps {
  std::uint64_t source = 0, relays = 0;
  std::map<std::string, std::uint64_t> nodes;
  std::optional<double> predicted_seconds;
};

wire::Json make_report(const RunSummary& run, const std::vector<NodeResult>& nodes,
                       const std::vector<wire::Json>& extra);  // extra: per-node fields to merge (status)
// Adds `caps` and `predicted_seconds` to a sync's report.
void add_caps(wire::Json& report, const RunCaps& caps);
// Writes to path ("-" is stdout); throws with the path on failure.
void write_report(const std::string& path, const wire::Json& report);
std::string utc_now();

}  // namespace treesync
