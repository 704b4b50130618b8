// What happened on each node, for people (a table) and for the exit status.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace treesync {

enum class Outcome { Pending, Loaded, Tagged, Skipped, Failed };

struct NodeResult {
  std::string node;
  std::string host;
  Outcome outcome = Outcome::Pending;
  std::uint64_t bytes = 0;  // archive bytes this node received
  double seconds = 0;
  std::string step;    // failures: where ("connect", "load", ...)
  std::string reason;  // failures: why, one line
  std::string action;  // what the probe decided: load, tag, skip ("" if it never got that far)
  std::string parent;  // who sent it the archive: "source" or a node ("" if nobody)
};

const char* outcome_name(Outcome o);
std::string human_bytes(std::uint64_t bytes);
// source_bytes: what the source itself sent, shown against the archive size.
void print_summary(std::ostream& out, const std::vector<NodeResult>& results, std::uint64_t source_bytes,
                   std::uint64_t archive_size);
// True only if every node ended with every image.
bool all_succeeded(const std::vector<NodeResult>& results);

}  // namespace treesync
