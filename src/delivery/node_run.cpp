#include "src/delivery/node_run.h"

namespace treesync {
namespace {

std::vector<std::string> ids_of(const std::vector<WantedImage>& wanted) {
  std::vector<std::string> ids;
  for (const auto& w : wanted) ids.push_back(w.id);
  return ids;
}

}  // namespace

void NodeRun::finish(Outcome outcome) {
  result.outcome = outcome;
  status->stage = outcome == Outcome::Failed ? Stage::Failed : Stage::Done;
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
}

void NodeRun::fail(const std::string& step, const std::string& reason) {
  finish(Outcome::Failed);
  result.step = step;
  result.reason = reason;
  spdlog::error("{}: {}{}", node.name, step.empty() ? "" : step + ": ", reason);
}

void probe_node(NodeRun& run, const std::vector<WantedImage>& wanted, const Options& o, const RelayBinary& binary) {
  SshConfig ssh{run.node.host, run.node.port, run.node.user, run.node.identity,
                o.known_hosts, o.accept_new_host_keys, o.connect_timeout};
  run.status->stage = Stage::Connecting;
  run.relay = std::make_unique<RemoteRelay>(run.node, ssh, binary, o.stall_timeout, shutdown_flag());
  run.relay->start();
  run.status->stage = Stage::Probing;
  wire::Json p = run.relay->probe(ids_of(wanted), true);
  if (p.value("store", "") == "containerd")
    throw NodeError("probe", "Docker " + p.value("docker_version", "") +
                                 " on this node keeps images in the containerd image store, where image IDs are "
                                 "not the source's; treesync cannot verify loads there (use the classic store)");
  std::map<std::string, NodeImage> on_node;
  for (const auto& [id, state] : p.at("images").items())
    on_node[id] = {state.value("present", false), state.value("tags", std::vector<std::string>{})};
  run.decision = decide(wanted, on_node, o.force);
  run.probe = p;
  run.result.action = action_name(run.decision.action);
  run.status->stage = Stage::Waiting;
  spdlog::info("{}: Docker {}, {}", run.node.name, p.value("docker_version", "?"), action_name(run.decision.action));
}

void check_space(NodeRun& run, std::uint64_t spool_bytes, std::uint64_t load_bytes) {
  if (!run.loads()) return;
  std::uint64_t spool_free = run.probe.value("spool_free", std::uint64_t{0});
  std::uint64_t root_free = run.probe.value("root_free", std::uint64_t{0});
  if (spool_free < spool_bytes)
    run.fail("space", "needs " + human_bytes(spool_bytes) + " free in ~/.cache/treesync for the spool, has " +
                          human_bytes(spool_free) + "; free some space on the node");
  else if (root_free < 2 * load_bytes)
    run.fail("space", "Docker's data root " + run.probe.value("root_dir", std::string("?")) + " has " +
                          human_bytes(root_free) + " free; docker load needs about " + human_bytes(2 * load_bytes) +
                          " (docker image prune, or free disk space)");
}

// Verify, then tag: the images docker load reported must be exactly the
// source's IDs (an image ID is the digest of its config, and docker load
// checked every layer against it), and only then do references move.
void verify_and_tag(NodeRun& run, const std::vector<WantedImage>& wanted, const std::vector<std::string>* loaded) {
  run.status->stage = Stage::Verifying;
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
  wire::Json p = run.relay->probe(ids_of(wanted), false);
  for (const auto& w : wanted) {
    const auto& state = p.at("images").at(w.id);
    if (!state.value("present", false)) throw NodeError("verify", "image " + w.id + " is not on the node after the load");
    auto tags = state.value("tags", std::vector<std::string>{});
    for (const auto& ref : w.refs)
      if (std::find(tags.begin(), tags.end(), ref) == tags.end())
        throw NodeError("verify", ref + " does not point at " + w.id + " on the node after tagging");
  }
}

}  // namespace treesync
