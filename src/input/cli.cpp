#include "src/input/cli.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include <cxxopts.hpp>

#include "src/errors.h"
#include "src/input/byte_size.h"
#include "src/input/home.h"
#include "src/input/image_ref.h"
#include "src/input/inventory.h"
#include "src/input/rate.h"
#include "src/wire/stripe_map.h"

namespace treesync {

const char* mode_name(ModeOption m) {
  return m == ModeOption::Flat ? "flat" : m == ModeOption::Tree ? "tree" : m == ModeOption::Stripes ? "stripes" : "auto";
}

const char* compress_name(Compress c) { return c == Compress::Zstd ? "zstd" : c == Compress::None ? "none" : "auto"; }
namespace {

const char* kExamples = R"(
Commands:
  treesync [sync] ...     put the images on the selected nodes (the default)
  treesync status ...     show which selected nodes have the images; send nothing
  treesync stage ...      put the images on the nodes without the operator's tags
                          (held as treesync.invalid/NAME/treesync-staged:TAG, pinned on containerd)
  treesync activate ...   tag the staged images on every node at once; send no image bytes

Examples:
  treesync --image iarnet:latest                      all docker nodes
  treesync --image iarnet:latest --node-type all      docker and iarnet nodes
  treesync --images app:1 web:2 db:3 --nodes 0-10     several images, nodes 0..10
  treesync --image iarnet:latest --nodes 0,1,2,5 --force
  treesync --image iarnet:latest --fanout 4           tree rollout to a large cluster
  treesync --image iarnet:latest --mode flat --max-workers 20
  treesync --image iarnet:latest --limit-rate 50M     every sender uploads at most 50 Mbit/s
  treesync status --images app:1 web:2 --node-type all
  treesync stage --image app:2 --fanout 4             ahead of the deploy window
  treesync activate --image app:2                     at the window: app:2 everywhere at once
  treesync --image iarnet:latest --json report.json --quiet
  treesync --image iarnet:latest --events - | jq -c 'select(.event == "failed")'
)";

// cxxopts takes one value per flag occurrence; the seed's `--images a b c`
// (and --files a b c) take several, so spread them into `--images a
// --images b --images c`.
std::vector<std::string> spread_lists(int argc, const char* const* argv) {
  std::vector<std::string> out;
  std::string list;  // the flag whose values follow, or ""
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--images" || a == "--files") {
      list = a;
      continue;
    }
    if (!list.empty() && !a.empty() && a[0] != '-') {
      out.push_back(list + "=" + a);
      continue;
    }
    list.clear();
    out.push_back(a);
  }
  return out;
}

std::string home_path(const std::string& rest) { return home_dir() + rest; }

std::uint64_t rate_flag(const cxxopts::ParseResult& r, const std::string& flag) {
  const std::string text = r[flag].as<std::string>();
  if (text.empty()) return 0;
  if (auto bps = parse_rate(text)) return *bps;
  throw UsageError("--" + flag + " '" + printable(text) + "' is not a rate: use e.g. " + kRateExamples);
}

}  // namespace

ParsedCommand parse_command_line(int argc, const char* const* argv) {
  cxxopts::Options spec("treesync",
                        "Put Docker images on many cluster nodes over SSH, through a fan-out tree, with no registry.");
  spec.custom_help("--image REF | --images REF... | --files PATH... --dest DIR [options]");
  spec.add_options("Images")
      ("image", "Image to sync, e.g. iarnet:latest", cxxopts::value<std::string>(), "REF")
      ("images", "Several images: --images a:1 b:2 c:3", cxxopts::value<std::vector<std::string>>(), "REF...")
      ("force", "Load even on nodes that already have the image, and onto nodes of another architecture than the image's",
       cxxopts::value<bool>()->default_value("false"))
      ("no-pin", "On containerd nodes, leave images unpinned: kubelet's image garbage collection may then delete them "
                 "before a pod uses them", cxxopts::value<bool>()->default_value("false"))
      ("source-runtime", "Where the images are on this host: docker, podman or containerd (default: docker if its "
       "daemon answers, else podman if installed, else containerd)", cxxopts::value<std::string>()->default_value(""),
       "RT")
      ("source-namespace", "containerd namespace of the images (implies --source-runtime containerd; default "
       "$CONTAINERD_NAMESPACE, else k8s.io; socket: $CONTAINERD_ADDRESS, else /run/containerd/containerd.sock)",
       cxxopts::value<std::string>()->default_value(""), "NS");
  spec.add_options("Files")
      ("files", "Files and directory trees to put on the nodes instead of images: --files /models/llama-70b data.bin "
       "(each lands at DIR/its name; symlinks are refused)", cxxopts::value<std::vector<std::string>>(), "PATH...")
      ("dest", "With --files: the absolute directory on every node they go to (created if missing)",
       cxxopts::value<std::string>()->default_value(""), "DIR")
      ("delete", "With --files: mirror, removing from DIR whatever is not in the payload",
       cxxopts::value<bool>()->default_value("false"));
  spec.add_options("Nodes")
      ("inventory", "Inventory file: treesync YAML, a list of hosts, or Ansible INI/YAML (default "
                    "$TREESYNC_INVENTORY, else ./treesync.yaml)",
       cxxopts::value<std::string>()->default_value(""), "FILE")
      ("node-type", "docker, iarnet, all, or any type/group of the inventory",
       cxxopts::value<std::string>()->default_value("docker"), "TYPE")
      ("nodes", "Indexes, ranges or names: 0-10, 0,1,2,5, node3", cxxopts::value<std::string>()->default_value(""),
       "SPEC");
  spec.add_options("Distribution")
      ("mode", "auto (the mode predicted fastest), flat (the source sends to each node), stripes (K striped "
       "trees: every node forwards about one copy) or tree (one K-ary tree)",
       cxxopts::value<std::string>()->default_value("auto"), "MODE")
      ("fanout", "Stripes: K stripes, K children per forwarding node (1: a chain); tree: most children of any sender; "
       "also the nodes the source ships the relay to, and how many each node lends it to", cxxopts::value<int>()->default_value("4"), "K")
      ("max-workers", "Flat: most nodes served at once", cxxopts::value<int>()->default_value("10"), "N")
      ("spool-window", "Most bytes of the stream a node keeps on disk besides its runtime's own copy; a child that "
       "falls further behind its parent is fed by the source (0: the whole stream)",
       cxxopts::value<std::string>()->default_value("512M"), "SIZE")
      ("compress", "Layers travel as zstd: auto (where it saves 10% or more), zstd or none",
       cxxopts::value<std::string>()->default_value("auto"), "HOW")
      ("limit-rate", "Cap every sending host's upload (the source, each relay) at RATE on the wire: 50M = 50 Mbit/s, "
       "also 1G, 50Mbit, 6MB/s, 6MiB/s", cxxopts::value<std::string>()->default_value(""), "RATE")
      ("source-limit", "Cap the source's upload at RATE (instead of --limit-rate)",
       cxxopts::value<std::string>()->default_value(""), "RATE")
      ("pace", "auto: a sending host with no cap finds its link's rate and sends just under it, so no queue stands "
       "in front of the link; off: each sends as fast as TCP lets it", cxxopts::value<std::string>()->default_value("auto"),
       "HOW")
      ("dry-run", "Probe the nodes and print the plan; send nothing (new images are saved into the cache)",
       cxxopts::value<bool>()->default_value("false"));
  spec.add_options("SSH")
      ("F,ssh-config", "OpenSSH client config that resolves node hosts (as ssh -F; default ~/.ssh/config, none: "
       "no config)", cxxopts::value<std::string>()->default_value(""), "FILE")
      ("known-hosts", "known_hosts file (default ~/.ssh/known_hosts)", cxxopts::value<std::string>()->default_value(""),
       "FILE")
      ("accept-new-host-keys", "Trust and record the key of a host not in known_hosts (like accept-new)",
       cxxopts::value<bool>()->default_value("false"))
      ("connect-timeout", "Seconds to wait for a node's SSH connection", cxxopts::value<int>()->default_value("10"),
       "S")
      ("stall-timeout", "Seconds without progress before a node is failed",
       cxxopts::value<int>()->default_value("120"), "S")
      ("probe-timeout", "Seconds a node's relay has to start and answer the probe (a hung runtime fails there)",
       cxxopts::value<int>()->default_value("60"), "S")
      ("retries", "Retry a node whose transfer failed, N more times, with backoff",
       cxxopts::value<int>()->default_value("0"), "N");
  spec.add_options("Output")
      ("quiet", "Print only the summary and errors", cxxopts::value<bool>()->default_value("false"))
      ("json", "Write a machine-readable report to FILE (- for stdout)",
       cxxopts::value<std::string>()->default_value(""), "FILE")
      ("events", "Write one JSON line per state change to FILE as the run goes (- for stdout; docs/events.md)",
       cxxopts::value<std::string>()->default_value(""), "FILE")
      ("metrics", "Write the run's totals to FILE in Prometheus text format (node_exporter's textfile collector)",
       cxxopts::value<std::string>()->default_value(""), "FILE")
      ("log-file", "Also write the debug log to FILE", cxxopts::value<std::string>()->default_value(""), "FILE")
      ("v,verbose", "Debug logging", cxxopts::value<bool>()->default_value("false"));
  spec.add_options("Other")
      ("relay", "treesync-relay binary to ship to the nodes of its architecture, x86_64 or aarch64 (repeatable; default: "
                "treesync-relay and treesync-relay-arm64 beside treesync, else in ../lib/treesync/ from it)",
       cxxopts::value<std::vector<std::string>>(), "FILE")
      ("cache-dir", "Where the layer cache is kept: a new or empty directory, or one treesync used (default ~/.cache/treesync)",
       cxxopts::value<std::string>()->default_value(""), "DIR")
      ("version", "Print the version")
      ("h,help", "Print this help");

  ParsedCommand cmd;
  std::vector<std::string> args = spread_lists(argc, argv);
  std::vector<const char*> cargs;
  for (const auto& a : args) cargs.push_back(a.c_str());
  cxxopts::ParseResult r;
  try {
    r = spec.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(std::string(e.what()) + " (see treesync --help)");
  }

  if (r.count("help")) {
    cmd.exit_now = true;
    cmd.output = spec.help({"Images", "Files", "Nodes", "Distribution", "SSH", "Output", "Other"}) + kExamples;
    return cmd;
  }
  if (r.count("version")) {
    cmd.exit_now = true;
    cmd.output = std::string("treesync ") + TREESYNC_VERSION + "\n";
    return cmd;
  }
  // The command word may stand anywhere among the options.
  std::vector<std::string> words = r.unmatched();
  if (!words.empty() &&
      (words[0] == "status" || words[0] == "sync" || words[0] == "stage" || words[0] == "activate")) {
    cmd.command = words[0];
    words.erase(words.begin());
  }
  if (!words.empty()) throw UsageError("unexpected argument '" + printable(words[0]) + "' (see treesync --help)");

  Options& o = cmd.options;
  std::vector<std::string> raw;
  if (r.count("image")) raw.push_back(r["image"].as<std::string>());
  if (r.count("images"))
    for (const auto& i : r["images"].as<std::vector<std::string>>()) raw.push_back(i);
  if (r.count("files")) o.files = r["files"].as<std::vector<std::string>>();
  o.dest = r["dest"].as<std::string>();
  o.mirror = r["delete"].as<bool>();
  if (!o.files.empty() && !raw.empty())
    throw UsageError("--files and --image are two payloads; sync them in two runs");
  if (!o.files.empty() && o.dest.empty()) throw UsageError("--files needs --dest DIR: where the files go on the nodes");
  if (!o.dest.empty() && o.dest.front() != '/')
    throw UsageError("--dest '" + printable(o.dest) + "' must be an absolute path on the nodes");
  if (o.files.empty() && (!o.dest.empty() || o.mirror))
    throw UsageError(std::string(o.mirror ? "--delete" : "--dest") + " applies to --files only");
  if (!o.files.empty() && (cmd.command == "stage" || cmd.command == "activate"))
    throw UsageError(cmd.command + " is for images; files are in place when a sync ends (renamed into place)");
  if (raw.empty() && o.files.empty())
    throw UsageError("no image given: use --image REF or --images REF... (or --files PATH... --dest DIR; see treesync --help)");
  for (const auto& text : raw) {
    std::string ref = normalize_image_ref(text);
    if (std::find(o.images.begin(), o.images.end(), ref) == o.images.end()) o.images.push_back(ref);
  }

  o.inventory = inventory_path(r["inventory"].as<std::string>());
  o.node_type = r["node-type"].as<std::string>();
  o.nodes = r["nodes"].as<std::string>();
  o.force = r["force"].as<bool>();
  o.tagging = cmd.command == "stage" ? Tagging::Staged : cmd.command == "activate" ? Tagging::Activate : Tagging::Operator;
  // activate moves names only: nothing to force, nothing sent to plan.
  if (o.tagging == Tagging::Activate && o.force)
    throw UsageError("--force does not apply to activate (it sends no image); use treesync stage --force");
  o.pin = !r["no-pin"].as<bool>();
  o.source_runtime = r["source-runtime"].as<std::string>();
  if (!o.source_runtime.empty() && o.source_runtime != "docker" && o.source_runtime != "podman" &&
      o.source_runtime != "containerd")
    throw UsageError("--source-runtime '" + printable(o.source_runtime) + "' is not one of docker, podman, containerd");
  o.source_namespace = r["source-namespace"].as<std::string>();
  if (!o.source_namespace.empty()) {
    if (!o.source_runtime.empty() && o.source_runtime != "containerd")
      throw UsageError("--source-namespace is containerd's; it needs --source-runtime containerd (or none)");
    o.source_runtime = "containerd";
    const bool ok = o.source_namespace.size() <= 76 &&
                    std::all_of(o.source_namespace.begin(), o.source_namespace.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                             c == '_' || c == '-';
                    });
    if (!ok) throw UsageError("--source-namespace '" + printable(o.source_namespace) +
                              "' is not a containerd namespace (letters, digits, '.', '_', '-')");
  }
  o.max_workers = r["max-workers"].as<int>();
  const std::string mode = r["mode"].as<std::string>();
  if (mode != "auto" && mode != "flat" && mode != "tree" && mode != "stripes")
    throw UsageError("--mode '" + printable(mode) + "' is not one of auto, flat, tree, stripes");
  o.mode = mode == "flat"      ? ModeOption::Flat
           : mode == "tree"    ? ModeOption::Tree
           : mode == "stripes" ? ModeOption::Stripes
                               : ModeOption::Auto;
  o.fanout = r["fanout"].as<int>();
  const std::string window = r["spool-window"].as<std::string>();
  const auto window_bytes = parse_byte_size(window);
  if (!window_bytes || (*window_bytes != 0 && *window_bytes < kMinSpoolWindow))
    throw UsageError("--spool-window '" + printable(window) + "' is not a size of 16M or more (e.g. 512M, 2G; 0 keeps "
                     "the whole stream)");
  o.spool_window = *window_bytes;
  const std::string compress = r["compress"].as<std::string>();
  if (compress != "auto" && compress != "zstd" && compress != "none")
    throw UsageError("--compress '" + printable(compress) + "' is not one of auto, zstd, none");
  o.compress = compress == "zstd" ? Compress::Zstd : compress == "none" ? Compress::None : Compress::Auto;
  o.limit_rate = rate_flag(r, "limit-rate");
  o.source_limit = rate_flag(r, "source-limit");
  const std::string pace = r["pace"].as<std::string>();
  if (pace != "auto" && pace != "off") throw UsageError("--pace '" + printable(pace) + "' is not one of auto, off");
  o.pace = pace == "auto";
  o.dry_run = r["dry-run"].as<bool>();
  o.verbose = r["verbose"].as<bool>();
  o.quiet = r["quiet"].as<bool>();
  o.json_path = r["json"].as<std::string>();
  o.log_file = r["log-file"].as<std::string>();
  o.events_path = r["events"].as<std::string>();
  o.metrics_path = r["metrics"].as<std::string>();
  if (o.events_path == "-" && o.json_path == "-")
    throw UsageError("--events - and --json - both want stdout; write one of them to a file");
  if (o.metrics_path == "-")
    throw UsageError("--metrics needs a file (it is written beside it and renamed into place), not -");
  if (!o.metrics_path.empty() && (o.dry_run || cmd.command == "status"))
    throw UsageError(std::string("--metrics records a rollout's totals and ") +
                     (o.dry_run ? "--dry-run" : "status") + " sends nothing; drop --metrics");
  if (o.quiet && o.verbose) throw UsageError("--quiet and --verbose contradict each other; pick one");
  o.ssh_config = r["ssh-config"].as<std::string>();
  if (o.ssh_config.empty()) {
    std::string user_config = home_path("/.ssh/config");
    if (::access(user_config.c_str(), F_OK) == 0) o.ssh_config = user_config;
  } else if (o.ssh_config == "none") {
    o.ssh_config.clear();
  } else if (::access(o.ssh_config.c_str(), R_OK) != 0) {
    throw UsageError("--ssh-config " + printable(o.ssh_config) + ": cannot read it (give an existing file, or none)");
  }
  o.known_hosts_given = r.count("known-hosts") > 0;
  o.connect_timeout_given = r.count("connect-timeout") > 0;
  o.known_hosts = r["known-hosts"].as<std::string>();
  if (o.known_hosts.empty()) o.known_hosts = home_path("/.ssh/known_hosts");
  o.accept_new_host_keys = r["accept-new-host-keys"].as<bool>();
  o.connect_timeout = r["connect-timeout"].as<int>();
  o.stall_timeout = r["stall-timeout"].as<int>();
  o.probe_timeout = r["probe-timeout"].as<int>();
  o.retries = r["retries"].as<int>();
  if (r.count("relay")) o.relay_paths = r["relay"].as<std::vector<std::string>>();
  o.cache_dir = r["cache-dir"].as<std::string>();
  o.cache_dir_default = o.cache_dir.empty();
  if (o.cache_dir.empty()) o.cache_dir = home_path("/.cache/treesync");

  if (o.fanout < 1 || o.fanout > 64) throw UsageError("--fanout must be 1..64 (1 is a pipeline), got " + std::to_string(o.fanout));
  if (o.mode == ModeOption::Stripes && o.fanout > wire::kMaxStripes)
    throw UsageError("--mode stripes takes --fanout 1.." + std::to_string(wire::kMaxStripes) + " (stripes), got " +
                     std::to_string(o.fanout));
  if (o.max_workers < 1 || o.max_workers > 1000)
    throw UsageError("--max-workers must be 1..1000, got " + std::to_string(o.max_workers));
  if (o.connect_timeout < 1) throw UsageError("--connect-timeout must be at least 1 second");
  if (o.stall_timeout < 1) throw UsageError("--stall-timeout must be at least 1 second");
  if (o.probe_timeout < 1) throw UsageError("--probe-timeout must be at least 1 second");
  if (o.retries < 0 || o.retries > 20) throw UsageError("--retries must be 0..20, got " + std::to_string(o.retries));
  return cmd;
}

}  // namespace treesync
