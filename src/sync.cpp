#include "src/sync.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include "src/errors.h"
#include "src/inventory.h"
#include "src/local_images.h"
#include "src/node_action.h"
#include "src/remote_relay.h"
#include "src/report.h"
#include "src/selection.h"
#include "src/shutdown.h"
#include "topology/plan.h"

namespace treesync {
namespace {

using Clock = std::chrono::steady_clock;

struct NodeRun {
  Node node;
  std::unique_ptr<RemoteRelay> relay;
  Decision decision;
  NodeResult result;
  Clock::time_point started;

  bool failed() const { return result.outcome == Outcome::Failed; }
};

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

std::vector<std::string> ids_of(const std::vector<WantedImage>& wanted) {
  std::vector<std::string> ids;
  for (const auto& w : wanted) ids.push_back(w.id);
  return ids;
}

// Runs fn on every run that has not failed, at most `workers` at once.
// A NodeError fails that node only; the others go on.
template <typename Fn>
void for_each_node(std::vector<NodeRun>& runs, int workers, Fn fn) {
  asio::thread_pool pool(static_cast<std::size_t>(std::max(1, workers)));
  for (auto& run : runs) {
    if (run.failed()) continue;
    asio::post(pool, [&run, &fn] {
      try {
        if (shutdown_flag()) throw NodeError("cancelled", "interrupted before this step");
        fn(run);
      } catch (const NodeError& e) {
        run.result.outcome = Outcome::Failed;
        run.result.step = e.step;
        run.result.reason = e.what();
        spdlog::error("{}: {}: {}", run.node.name, e.step, e.what());
      } catch (const std::exception& e) {
        run.result.outcome = Outcome::Failed;
        run.result.reason = e.what();
        spdlog::error("{}: {}", run.node.name, e.what());
      }
      run.result.seconds = std::chrono::duration<double>(Clock::now() - run.started).count();
    });
  }
  pool.join();
}

void probe_node(NodeRun& run, const std::vector<WantedImage>& wanted, const Options& o, const RelayBinary& binary) {
  SshConfig ssh{run.node.host, run.node.port, run.node.user, run.node.identity,
                o.known_hosts, o.accept_new_host_keys, o.connect_timeout};
  run.relay = std::make_unique<RemoteRelay>(run.node, ssh, binary, o.stall_timeout, shutdown_flag());
  run.relay->start();
  wire::Json p = run.relay->probe(ids_of(wanted));
  if (p.value("store", "") == "containerd")
    throw NodeError("probe", "Docker " + p.value("docker_version", "") +
                                 " on this node keeps images in the containerd image store, where image IDs are "
                                 "not the source's; treesync cannot verify loads there (use the classic store)");
  std::map<std::string, NodeImage> on_node;
  for (const auto& [id, state] : p.at("images").items())
    on_node[id] = {state.value("present", false), state.value("tags", std::vector<std::string>{})};
  run.decision = decide(wanted, on_node, o.force);
  spdlog::info("{}: Docker {}, {}", run.node.name, p.value("docker_version", "?"), action_name(run.decision.action));
}

// Verify, then tag: the images docker load reported must be exactly the
// source's IDs (an image ID is the digest of its config, and docker load
// checked every layer against it), and only then do references move.
void verify_and_tag(NodeRun& run, const std::vector<WantedImage>& wanted, const std::vector<std::string>* loaded) {
  if (loaded) {
    for (const auto& w : wanted) {
      if (std::find(loaded->begin(), loaded->end(), w.id) != loaded->end()) continue;
      std::string got;
      for (const auto& id : *loaded) got += (got.empty() ? "" : ", ") + id;
      throw NodeError("verify", "docker load produced " + (got.empty() ? "no image" : got) + " instead of " + w.id +
                                    "; nothing was tagged");
    }
  }
  for (const auto& [id, refs] : run.decision.tags) run.relay->tag(id, refs);
  wire::Json p = run.relay->probe(ids_of(wanted));
  for (const auto& w : wanted) {
    const auto& state = p.at("images").at(w.id);
    if (!state.value("present", false)) throw NodeError("verify", "image " + w.id + " is not on the node after the load");
    auto tags = state.value("tags", std::vector<std::string>{});
    for (const auto& ref : w.refs)
      if (std::find(tags.begin(), tags.end(), ref) == tags.end())
        throw NodeError("verify", ref + " does not point at " + w.id + " on the node after tagging");
  }
}

void deliver_flat(NodeRun& run, const std::vector<WantedImage>& wanted, const Archive& archive) {
  if (run.decision.action == Action::Skip) {
    run.result.outcome = Outcome::Skipped;
    return;
  }
  if (run.decision.action == Action::Load) {
    spdlog::info("{}: sending {}", run.node.name, human_bytes(archive.size));
    run.relay->send_archive(archive.path, archive.size, [&run](std::uint64_t n) { run.result.bytes_sent = n; });
    std::vector<std::string> loaded = run.relay->wait_loaded();
    verify_and_tag(run, wanted, &loaded);
    run.result.outcome = Outcome::Loaded;
  } else {
    verify_and_tag(run, wanted, nullptr);
    run.result.outcome = Outcome::Tagged;
  }
  spdlog::info("{}: {}", run.node.name, outcome_name(run.result.outcome));
}

void print_plan(const std::vector<NodeRun>& runs) {
  std::cout << "plan (flat: the source sends to each node):\n";
  for (const auto& run : runs) {
    std::cout << "  " << run.node.name << " (" << run.node.host << "): ";
    if (run.failed())
      std::cout << "failed at " << run.result.step << ": " << run.result.reason << "\n";
    else
      std::cout << action_name(run.decision.action) << "\n";
  }
}

}  // namespace

int run_sync(const Options& o) {
  Inventory inventory = load_inventory(o.inventory);
  std::vector<Node> nodes = select_nodes(inventory, o.node_type, o.nodes);
  check_identity_files(nodes, inventory.path);
  std::vector<WantedImage> wanted = inspect_local_images(o.images);
  RelayBinary binary = RelayBinary::load(o.relay_path);
  if (o.mode == "tree") throw UsageError("--mode tree is not available yet; use --mode flat");

  std::vector<NodeRun> runs(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    runs[i].node = nodes[i];
    runs[i].result.node = nodes[i].name;
    runs[i].result.host = nodes[i].host;
    runs[i].started = Clock::now();
  }
  spdlog::info("{} image(s) to {} node(s); probing", wanted.size(), runs.size());
  for_each_node(runs, o.max_workers, [&](NodeRun& run) { probe_node(run, wanted, o, binary); });

  bool any_load = std::any_of(runs.begin(), runs.end(),
                              [](const NodeRun& r) { return !r.failed() && r.decision.action == Action::Load; });
  if (o.dry_run) {
    print_plan(runs);
  } else {
    Archive archive;
    if (any_load && !shutdown_flag()) archive = ensure_archive(wanted, o.cache_dir);
    for_each_node(runs, o.max_workers, [&](NodeRun& run) { deliver_flat(run, wanted, archive); });
  }
  for_each_node(runs, o.max_workers, [](NodeRun& run) { run.relay.reset(); });

  if (!o.dry_run) {
    std::vector<NodeResult> results;
    for (const auto& run : runs) results.push_back(run.result);
    print_summary(std::cout, results);
    if (shutdown_exit_code()) return shutdown_exit_code();
    return all_succeeded(results) ? 0 : 1;
  }
  if (shutdown_exit_code()) return shutdown_exit_code();
  return std::none_of(runs.begin(), runs.end(), [](const NodeRun& r) { return r.failed(); }) ? 0 : 1;
}

}  // namespace treesync
