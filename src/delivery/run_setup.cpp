#include "src/delivery/run_setup.h"

#include <sys/stat.h>

#include <algorithm>

#include "src/input/inventory_format.h"
#include "src/report/events.h"
#include "src/report/json_report.h"
#include "src/report/logging.h"
#include "src/input/selection.h"
#include "src/delivery/staged_ref.h"
#include "src/fd_limit.h"

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

// How long the probes that have answered wait for one more before the run
// goes on without the rest: past this, a node is hung or far slower than
// the others, and it joins in a later round.
constexpr auto kQuiet = std::chrono::seconds(3);

}  // namespace

void RunSetup::wait_probes() {
  if (prober_.joinable()) prober_.join();
}

RunSetup::~RunSetup() {
  wait_probes();
  for (auto& run : runs) run.relay.reset();
  attach_progress(nullptr);
  if (progress) progress->stop();
}

void RunSetup::close_relays(std::size_t workers) {
  for_each_node(runs, workers, [](NodeRun& run) { run.relay.reset(); });
  for (auto& run : runs) run.relay.reset();  // failed nodes too
  if (progress) progress->stop();
  attach_progress(nullptr);
}

std::vector<NodeResult> RunSetup::results() const {
  std::vector<NodeResult> out;
  for (const auto& run : runs) out.push_back(run.result);
  return out;
}

std::vector<std::pair<std::string, std::string>> RunSetup::image_ids(const Options& o) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& ref : o.images)
    for (const auto& w : wanted)
      if (std::find(w.refs.begin(), w.refs.end(), ref) != w.refs.end()) out.emplace_back(ref, w.id);
  return out;
}

std::unique_ptr<RunSetup> setup_and_probe(const Options& o, bool early) {
  auto s = std::make_unique<RunSetup>();
  s->started = utc_now();
  s->t0 = Clock::now();
  if (o.tagging != Tagging::Operator) check_stageable(o.images);
  Inventory inventory = load_inventory(o.inventory);
  std::vector<Node> nodes = select_nodes(inventory, o.node_type, o.nodes);
  check_identity_files(nodes, inventory.path);
  ensure_fd_limit(nodes.size());
  if (o.files.empty()) {
    s->wanted = inspect_local_images(o);
  } else {
    s->manifest = build_manifest(o.files);
    s->files = wire::FilesProbe{o.dest, s->manifest.files, s->manifest.dirs, o.mirror};
  }
  s->relays = RelaySet::load(o.relay_paths);
  s->donors = std::make_unique<RelayDonors>(std::max(1, o.fanout), std::max(1, o.fanout));

  s->progress = std::make_unique<Progress>(Progress::style_for(2, o.quiet), stderr);
  s->runs.resize(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    NodeRun& run = s->runs[i];
    run.node = nodes[i];
    run.result.node = nodes[i].name;
    run.result.host = nodes[i].host;
    run.started = Clock::now();
    run.status = s->progress->add(nodes[i].name);
  }
  attach_progress(s->progress.get());
  s->progress->start();
  wire::Json images = wire::Json::array(), names = wire::Json::array();
  for (const auto& [ref, id] : s->image_ids(o)) images.push_back({{"ref", ref}, {"id", id}});
  for (const auto& n : nodes) names.push_back(n.name);
  events::emit("run_started", "",
               {{"events_version", 1}, {"version", TREESYNC_VERSION}, {"command", events::command()},
                {"images", images}, {"mode", mode_name(o.mode)}, {"fanout", o.fanout}, {"dry_run", o.dry_run},
                {"nodes", names}});
  if (s->files)
    spdlog::info("{} file(s) to {} on {} node(s); probing", s->manifest.files.size(), o.dest, s->runs.size());
  else
    spdlog::info("{} image(s) to {} node(s); probing", s->wanted.size(), s->runs.size());
  s->probed_.assign(s->runs.size(), false);
  RunSetup* setup = s.get();
  // A node's probe has ended once its failure, if any, is recorded: the run
  // may take it on from there.
  setup->prober_ = std::thread([setup, &o] {
    for_each_node(setup->runs, static_cast<std::size_t>(o.max_workers), [setup, &o](NodeRun& run) {
      try {
        probe_node(run, setup->wanted, o, setup->relays, *setup->donors, setup->files_target());
      } catch (const NodeError& e) {
        run.fail(e.step, e.what());
      } catch (const std::exception& e) {
        run.fail("", e.what());
      }
      std::lock_guard<std::mutex> lock(setup->probe_mu_);
      setup->probed_[static_cast<std::size_t>(&run - setup->runs.data())] = true;
      setup->probe_cv_.notify_all();
    });
    std::lock_guard<std::mutex> lock(setup->probe_mu_);
    setup->probed_.assign(setup->runs.size(), true);  // failed before this step: skipped by for_each_node
    setup->probe_cv_.notify_all();
  });
  if (!early) s->wait_probes();
  std::unique_lock<std::mutex> lock(s->probe_mu_);
  const auto begun = Clock::now();
  std::size_t seen = 0;
  auto quiet_since = Clock::now();
  std::chrono::steady_clock::duration first{};
  for (;;) {
    const std::size_t ended = static_cast<std::size_t>(std::count(s->probed_.begin(), s->probed_.end(), true));
    if (ended == s->runs.size()) break;
    if (ended > seen) {
      if (seen == 0) first = Clock::now() - begun;
      seen = ended;
      quiet_since = Clock::now();
    }
    const auto quiet = std::max<std::chrono::steady_clock::duration>(kQuiet, first);
    if (seen > 0 && Clock::now() - quiet_since >= quiet) break;
    s->probe_cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  for (std::size_t i = 0; i < s->runs.size(); ++i) (s->probed_[i] ? s->early : s->late).push_back(i);
  if (!s->late.empty())
    spdlog::warn("{} node(s) still probing after the others answered; the run goes on without them, and they join "
                 "in a later round once they answer (or fail on --probe-timeout)",
                 s->late.size());
  return s;
}

}  // namespace treesync
