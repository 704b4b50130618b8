// Command-line options: the seed script's flags, plus the tree and SSH ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace treesync {

// A window must hold a few chunks in flight to keep a stream moving.
constexpr std::uint64_t kMinSpoolWindow = 16u << 20;

enum class ModeOption { Auto, Flat, Tree, Stripes };
enum class Compress { Auto, Zstd, None };  // how layers travel
// Which references a run puts on nodes: the operator's (sync), treesync's
// staged ones and never the operator's (stage), or the operator's on nodes
// that hold the image staged, and nowhere else (activate).
enum class Tagging { Operator, Staged, Activate };

const char* mode_name(ModeOption m);
const char* compress_name(Compress c);

struct Options {
  std::vector<std::string> images;  // normalized references, in order, no duplicates
  std::vector<std::string> files;   // --files: paths to put on the nodes instead of images
  std::string dest;                 // --dest: where on the nodes (absolute)
  bool mirror = false;              // --delete: remove from dest what the payload lacks
  std::string inventory;            // resolved path
  std::string node_type = "docker";
  std::string nodes;                // --nodes spec, empty: all of the type
  bool force = false;
  std::string source_runtime;       // --source-runtime: docker, podman, containerd; "" picks one
  std::string source_namespace;     // --source-namespace: containerd's; "" for $CONTAINERD_NAMESPACE, else k8s.io
  bool pin = true;                  // containerd nodes: label images pinned (--no-pin)
  Tagging tagging = Tagging::Operator;  // set by the command: sync, stage, activate
  int max_workers = 10;
  ModeOption mode = ModeOption::Auto;
  int fanout = 4;
  Compress compress = Compress::Auto;
  std::uint64_t limit_rate = 0;     // --limit-rate: every sending host's upload cap, bits/s on the wire; 0: none
  std::uint64_t source_limit = 0;   // --source-limit: the source's, instead of limit_rate; 0: none
  bool pace = true;                 // --pace auto: a host with no cap paces itself under its link (wire/pace.h)
  std::uint64_t spool_window = 512u << 20;  // bytes of the stream a relay keeps on disk; 0: all
  bool dry_run = false;
  bool verbose = false;
  bool quiet = false;               // only the summary and errors
  std::string json_path;            // --json FILE, "-" for stdout
  std::string events_path;          // --events FILE, "-" for stdout
  std::string metrics_path;         // --metrics FILE
  std::string log_file;
  std::string ssh_config;           // --ssh-config (ssh -F); default ~/.ssh/config if it exists; "" for none
  std::string known_hosts;          // default ~/.ssh/known_hosts
  bool accept_new_host_keys = false;
  int connect_timeout = 10;         // seconds
  // Given on the command line, so they win over the ssh config.
  bool known_hosts_given = false, connect_timeout_given = false;
  int stall_timeout = 120;          // seconds without progress before a node fails
  int probe_timeout = 60;           // seconds a node's relay has to start and answer the probe
  int retries = 0;                  // further attempts for a node that failed in transfer
  std::vector<std::string> relay_paths;  // each for nodes of its architecture; default: beside treesync
  std::string cache_dir;            // default ~/.cache/treesync
  bool cache_dir_default = true;    // no --cache-dir: an older treesync's cache there is adopted
};

struct ParsedCommand {
  std::string command = "sync";  // or "status", "stage", "activate"
  bool exit_now = false;  // --help or --version was printed
  std::string output;     // what to print when exit_now
  Options options;
};

// Throws UsageError for anything wrong, naming the flag and the fix.
ParsedCommand parse_command_line(int argc, const char* const* argv);

}  // namespace treesync
