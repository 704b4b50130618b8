#include "src/sync.h"

#include <sys/stat.h>

#include <iostream>
#include <set>
#include <thread>

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

// Failures that another attempt cannot fix without the operator.
bool retryable(const NodeRun& run) {
  static const std::set<std::string> final_steps = {"auth", "host key", "verify", "space", "cancelled", "plan"};
  return run.failed() && !final_steps.count(run.result.step);
}

// Waits 1, 2, 4, ... (at most 30) seconds, then tries the retryable failed
// nodes again from the start (connect, probe, flat delivery).
std::uint64_t retry_failed(std::vector<NodeRun>& runs, const std::vector<WantedImage>& wanted, const Options& o,
                           const RelayBinary& binary, Archive& archive) {
  std::uint64_t sent = 0;
  for (int attempt = 1; attempt <= o.retries && !shutdown_flag(); ++attempt) {
    std::vector<NodeRun> again;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < runs.size(); ++i)
      if (retryable(runs[i])) {
        where.push_back(i);
        again.push_back(std::move(runs[i]));
      }
    if (again.empty()) break;
    int wait_s = std::min(30, 1 << (attempt - 1));
    spdlog::info("retrying {} node(s) in {} s (attempt {} of {})", again.size(), wait_s, attempt + 1, o.retries + 1);
    for (int i = 0; i < wait_s * 10 && !shutdown_flag(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (auto& run : again) {
      run.relay.reset();
      run.result = NodeResult();
      run.result.node = run.node.name;
      run.result.host = run.node.host;
    }
    for_each_node(again, static_cast<std::size_t>(o.max_workers), [&](NodeRun& run) { probe_node(run, wanted, o, binary); });
    bool loads = std::any_of(again.begin(), again.end(), [](const NodeRun& r) { return r.loads(); });
    if (loads && archive.size == 0) archive = ensure_archive(wanted, o.cache_dir);
    for (auto& run : again) check_space(run, archive.size);
    sent += deliver_flat(again, DeliveryInput{wanted, archive, o});
    for (std::size_t k = 0; k < where.size(); ++k) runs[where[k]] = std::move(again[k]);
  }
  return sent;
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
    for (auto& run : runs) check_space(run, archive.size);
    DeliveryInput in{wanted, archive, o};
    source_bytes = mode == "tree" ? deliver_tree(runs, in) : deliver_flat(runs, in);
    source_bytes += retry_failed(runs, wanted, o, binary, archive);
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
