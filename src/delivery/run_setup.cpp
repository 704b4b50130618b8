#include "src/delivery/run_setup.h"

#include <sys/stat.h>

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

}  // namespace

RunSetup::~RunSetup() {
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

std::unique_ptr<RunSetup> setup_and_probe(const Options& o) {
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
  for_each_node(s->runs, static_cast<std::size_t>(o.max_workers),
                [&](NodeRun& run) { probe_node(run, s->wanted, o, s->relays, s->files_target()); });
  return s;
}

}  // namespace treesync
