#include "src/sync.h"

#include <sys/stat.h>

#include <iostream>

#include "src/delivery.h"
#include "src/inventory.h"
#include "src/local_images.h"
#include "src/node_run.h"
#include "src/selection.h"

namespace treesync {
namespace {

// OpenSSH refuses a key others can read; say so before connecting anywhere.
void check_identity_files(const std::vector<Node>& nodes, const std::string& inventory) {
  for (const auto& n : nodes) {
    if (n.identity.empty()) continue;
    struct stat st;
    if (::stat(n.identity.c_str(), &st) != 0)
      throw UsageError("node " + n.name + ": identity file " + n.identity + " does not exist (fix identity: in " +
                       inventory + ")");
    if (st.st_mode & 077)
      throw UsageError("node " + n.name + ": identity file " + n.identity +
                       " is readable by other users; run: chmod 600 " + n.identity);
  }
}

// auto: flat when the nodes that load fit in one level of the tree.
std::string pick_mode(const Options& o, std::size_t loaders) {
  if (o.mode != "auto") return o.mode;
  bool flat = topology::choose_mode(loaders, o.fanout) == topology::Mode::Flat;
  spdlog::info("mode: {} ({} node(s) to load {} fanout {})", flat ? "flat" : "tree", loaders, flat ? "<=" : ">",
               o.fanout);
  return flat ? "flat" : "tree";
}

}  // namespace

int run_sync(const Options& o) {
  Inventory inventory = load_inventory(o.inventory);
  std::vector<Node> nodes = select_nodes(inventory, o.node_type, o.nodes);
  check_identity_files(nodes, inventory.path);
  std::vector<WantedImage> wanted = inspect_local_images(o.images);
  RelayBinary binary = RelayBinary::load(o.relay_path);

  std::vector<NodeRun> runs(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    runs[i].node = nodes[i];
    runs[i].result.node = nodes[i].name;
    runs[i].result.host = nodes[i].host;
    runs[i].started = Clock::now();
  }
  spdlog::info("{} image(s) to {} node(s); probing", wanted.size(), runs.size());
  for_each_node(runs, static_cast<std::size_t>(o.max_workers),
                [&](NodeRun& run) { probe_node(run, wanted, o, binary); });

  std::size_t loaders = static_cast<std::size_t>(std::count_if(runs.begin(), runs.end(), [](const NodeRun& r) { return r.loads(); }));
  std::string mode = pick_mode(o, loaders);
  Archive archive;
  std::uint64_t source_bytes = 0;
  if (o.dry_run) {
    print_plan(std::cout, runs, mode, o.fanout);
  } else {
    if (loaders > 0 && !shutdown_flag()) archive = ensure_archive(wanted, o.cache_dir);
    DeliveryInput in{wanted, archive, o};
    source_bytes = mode == "tree" ? deliver_tree(runs, in) : deliver_flat(runs, in);
  }
  for_each_node(runs, static_cast<std::size_t>(o.max_workers), [](NodeRun& run) { run.relay.reset(); });
  for (auto& run : runs) run.relay.reset();  // failed nodes too

  if (o.dry_run) {
    if (shutdown_exit_code()) return shutdown_exit_code();
    return std::none_of(runs.begin(), runs.end(), [](const NodeRun& r) { return r.failed(); }) ? 0 : 1;
  }
  std::vector<NodeResult> results;
  for (const auto& run : runs) results.push_back(run.result);
  print_summary(std::cout, results, source_bytes, archive.size);
  if (shutdown_exit_code()) return shutdown_exit_code();
  return all_succeeded(results) ? 0 : 1;
}

}  // namespace treesync
