// What happened on each node, for people (a table) and for the exit status.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace treesync {

enum class Outcome { Pending, Loaded, Tagged, Skipped, Failed };

struct NodeResult {
  std::string node;
  std::string host;
  Outcome outcome = Outcome::Pending;
  std::uint64_t bytes = 0;  // stream bytes this node received
  std::size_t layers = 0;   // layers its stream carried for its own load
  double seconds = 0;
  std::string step;    // failures: where ("connect", "load", ...)
  std::string reason;  // failures: why, one line
  std::string runtime;  // from the probe: "docker", "containerd", "podman" ("" if it never got that far)
  std::string runtime_version;
  std::string store;   // Docker's image store, containerd's namespace, podman's storage driver
  std::string arch;    // from the probe: the node's platform as image configs name it ("amd64", "arm64")
  bool sudo = false;   // from the probe: the runtime's commands ran through `sudo -n`
  std::string action;  // what the probe decided: load, tag, skip ("" if it never got that far)
  std::string parent;  // who sent it its stream: "source" or a node ("" if nobody)
  std::uint64_t refused = 0;  // connections to its relay that could not prove an edge key
  bool via_ssh = false;       // the source fed it through an SSH tunnel (no TCP route to its relay)
  std::string relay;          // where its relay came from: "cached", "source", or the node that lent it
  std::uint64_t relay_bytes = 0;  // relay bytes the source sent it
};

const char* outcome_name(Outcome o);
// Nodes per outcome name, every outcome present (zeros included).
std::map<std::string, std::size_t> outcome_counts(const std::vector<NodeResult>& results);
std::string human_bytes(std::uint64_t bytes);
// source_bytes: what the source itself sent, shown against the bundle's
// size (`whole`: every layer, compressed as sent, or every file: what one
// empty node needs). A row per node up to 40 nodes; past that the failed
// and unfinished ones (20), the slowest others (10), and a line counting
// each kind left out, with the most common failures: a bounded table at
// any scale (every node is in the --json report).
void print_summary(std::ostream& out, const std::vector<NodeResult>& results, std::uint64_t source_bytes,
                   std::uint64_t bundle_size, const char* whole = "every layer");
// Where the nodes' relays came from, one line ("" if no node got that far).
std::string relays_line(const std::vector<NodeResult>& results);
// True only if every node ended with every image.
bool all_succeeded(const std::vector<NodeResult>& results);

}  // namespace treesync
