#include "src/delivery/node_run.h"

#include <algorithm>
#include <set>

#include <unistd.h>

#include "src/cache/file_manifest.h"
#include "src/delivery/staged_ref.h"
#include "src/report/events.h"
#include "src/ssh/ssh_config.h"

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
  events::emit("failed", node.name,
               {{"step", step.empty() ? wire::Json(nullptr) : wire::Json(step)}, {"reason", reason}});
}

namespace {

// What the operator named to reach: a node of the inventory, or a
// ProxyJump hop; "given" values win over the ssh config.
struct Reach {
  std::string name, host;
  int port = 22;
  std::string user, identity;
  bool port_given = false, user_given = false;
};

// More hops than this (jump hosts' own ProxyJumps included) is a loop.
constexpr std::size_t kMaxJumps = 8;

// `reach` resolved through the ssh config as `ssh` resolves a host. With
// follow_jumps its ProxyJump (if any) becomes c.jumps, as ssh -J does: the
// first hop is itself resolved with its own ProxyJump, the later ones are
// reached as the hops before them (their own ProxyJump is overridden, as
// ssh's -J overrides it).
SshConfig resolve(const Reach& reach, const Options& o, const SshLocal& local, bool follow_jumps, std::size_t depth) {
  SshConfig c;
  c.host = reach.host, c.port = reach.port, c.user = reach.user, c.identity = reach.identity;
  c.known_hosts = o.known_hosts, c.accept_new_host_keys = o.accept_new_host_keys;
  // OpenSSH's default: ~/.ssh/known_hosts2 beside the first.
  if (!o.known_hosts_given) c.known_hosts_also.push_back(local.home + "/.ssh/known_hosts2");
  c.connect_timeout_s = o.connect_timeout;
  c.name = reach.name;
  if (o.ssh_config.empty()) return c;
  SshHostConfig r;
  try {
    r = read_ssh_config(o.ssh_config, reach.host, local);
  } catch (const UsageError& e) {
    throw NodeError("connect", e.what());
  }
  const auto given = [&](const char* keyword) { return r.given.count(keyword) > 0; };
  // Running the operator's command is not treesync's to do, and connecting
  // directly would bypass the path the config demands.
  if (!r.proxy_command.empty() && follow_jumps)
    throw NodeError("connect", "ProxyCommand is not supported (" + reach.name + ": " + r.proxy_command +
                                   "): use ProxyJump, or reach the host directly");
  // ssh's "no" would connect even to a changed key. Only an operator who
  // passes --accept-new-host-keys gets it, and then as accept-new: new keys
  // are recorded, a changed key is still refused.
  if (r.strict_host_key_checking == "no" && !o.accept_new_host_keys)
    throw NodeError("connect", "StrictHostKeyChecking no in " + o.ssh_config + " is refused for " +
                                   (depth == 0 ? "node " : "jump host ") + reach.name +
                                   ": treesync checks host keys (pass --accept-new-host-keys to take it as accept-new)");
  c.host = r.hostname;
  if (!reach.port_given && given("port")) c.port = r.port;
  if (!reach.user_given && given("user")) c.user = r.user;
  // ssh tries every IdentityFile and skips missing ones; the session takes
  // one key file, so the first that exists.
  if (reach.identity.empty() && given("identityfile"))
    for (const std::string& file : r.identity_files)
      if (std::string path = expand_ssh_path(file, r, local); ::access(path.c_str(), R_OK) == 0) {
        c.identity = path;
        break;
      }
  c.identities_only = r.identities_only;
  if (!o.known_hosts_given && given("userknownhostsfile")) {
    c.known_hosts = r.user_known_hosts_files[0];
    c.known_hosts_also.assign(r.user_known_hosts_files.begin() + 1, r.user_known_hosts_files.end());
  }
  if (r.strict_host_key_checking == "accept-new") c.accept_new_host_keys = true;  // "no" got here only with it set
  // A host the operator pinned stays pinned: --accept-new-host-keys is for
  // the hosts the config leaves open (ssh -J does not pass -o to its hops).
  if (given("stricthostkeychecking") && r.strict_host_key_checking == "yes") c.accept_new_host_keys = false;
  if (!o.connect_timeout_given && r.connect_timeout && *r.connect_timeout > 0) c.connect_timeout_s = *r.connect_timeout;
  if (!follow_jumps || r.proxy_jump.empty()) return c;
  for (std::size_t i = 0; i < r.proxy_jump.size(); ++i) {
    SshHop hop;
    try {
      hop = parse_jump_hop(r.proxy_jump[i]);
    } catch (const UsageError& e) {
      throw NodeError("connect", std::string(e.what()) + " in " + o.ssh_config + " for " + reach.name);
    }
    // A hop's user and port default as ssh's own would: the local user, 22.
    Reach next{r.proxy_jump[i], hop.host, hop.port ? hop.port : 22, hop.user.empty() ? local.user : hop.user, "",
               hop.port != 0, !hop.user.empty()};
    if (depth + c.jumps.size() >= kMaxJumps)
      throw NodeError("connect", "more than " + std::to_string(kMaxJumps) + " jump hosts to reach " + reach.name +
                                     " (a ProxyJump loop in " + o.ssh_config + "?)");
    SshConfig j = resolve(next, o, local, i == 0, depth + 1);
    for (auto& inner : j.jumps) c.jumps.push_back(std::move(inner));
    j.jumps.clear();
    c.jumps.push_back(std::move(j));
  }
  return c;
}

}  // namespace

SshConfig ssh_config(const Node& node, const Options& o) {
  return resolve({node.name, node.host, node.port, node.user, node.identity, node.port_given, node.user_given}, o,
                 ssh_local(), true, 0);
}

namespace {

// What the relay found at --dest, in the fields the image path reads: the
// space checks, the plan and the summary treat the destination as the
// "runtime" of a files payload.
void probe_files(NodeRun& run, const wire::FilesProbe& files, const Options& o) {
  wire::FilesProbed f = run.relay->probe_files(files);
  for (std::size_t i : f.have)
    if (i >= files.files.size()) throw NodeError("probe", "the relay named file " + std::to_string(i) + " of " +
                                                              std::to_string(files.files.size()));
  run.need = lacking_files(files.files.size(), f.have, o.force);
  run.decision = Decision();
  run.decision.action = run.need.empty() && f.fixes == 0 ? Action::Skip : Action::Load;
  wire::ProbeReply& p = run.probe;
  p.runtime = "files";
  p.store = files.dest;
  p.root_dir = files.dest;
  p.root_free = f.dest_free;
  p.spool_free = f.spool_free;
  p.spool_on_root = f.spool_on_dest;
  run.result.action = action_name(run.decision.action);
  run.result.runtime = "files";
  run.result.store = files.dest;
  run.result.layers = run.need.size();
  run.status->stage = Stage::Probed;
  spdlog::info("{}: holds {} of {} file(s) at {}{}, {}", run.node.name, f.have.size(), files.files.size(), files.dest,
               f.fixes ? ", " + std::to_string(f.fixes) + " other change(s)" : "", action_name(run.decision.action));
  events::emit("probed", run.node.name,
               {{"runtime", {{"name", "files"}, {"version", ""}, {"store", files.dest}}},
                {"has_images", run.decision.action == Action::Skip}, {"action", action_name(run.decision.action)}});
}

}  // namespace

void probe_node(NodeRun& run, const std::vector<WantedImage>& wanted, const Options& o, const RelaySet& relays,
                RelayDonors& donors, const wire::FilesProbe* files) {
  run.status->stage = Stage::Connecting;
  run.ssh = ssh_config(run.node, o);
  run.relay = std::make_unique<RemoteRelay>(run.node, run.ssh, relays, donors, o.probe_timeout, o.stall_timeout,
                                            shutdown_flag());
  run.relay->start();
  run.result.relay = run.relay->relay_from();
  run.result.relay_bytes = run.relay->relay_bytes();
  run.status->stage = Stage::Probing;
  if (files) return probe_files(run, *files, o);
  // activate loads nothing: the layer lists, costly on a busy node, are not needed.
  wire::ProbeReply p = run.relay->probe(ids_of(wanted), o.tagging != Tagging::Activate);
  std::map<std::string, NodeImage> on_node;
  for (const auto& [id, state] : p.images) on_node[id] = {state.present, state.tags};
  run.decision = decide(wanted, on_node, o.force, o.tagging);
  run.probe = p;
  run.result.action = action_name(run.decision.action);
  run.result.runtime = p.runtime;
  run.result.runtime_version = p.version;
  run.result.store = p.store;
  run.result.arch = p.arch;
  run.result.sudo = p.sudo;
  run.status->stage = Stage::Probed;
  spdlog::info("{}: {}, {}", run.node.name, runtime_line(p), action_name(run.decision.action));
  const bool has_images = std::all_of(wanted.begin(), wanted.end(), [&](const WantedImage& w) {
    auto it = on_node.find(w.id);
    return it != on_node.end() && it->second.present;
  });
  events::emit("probed", run.node.name,
               {{"runtime", {{"name", p.runtime}, {"version", p.version}, {"store", p.store}}},
                {"has_images", has_images}, {"action", action_name(run.decision.action)}});
}

std::string runtime_line(const wire::ProbeReply& p) {
  if (p.runtime == "files") return "files to " + p.root_dir;
  std::string name = p.runtime == "docker" ? "Docker" : p.runtime == "podman" ? "podman" : "containerd";
  return name + " " + p.version + " (" + (p.runtime == "containerd" ? "namespace " : "") + p.store + ")" +
         (p.sudo ? " via sudo" : "");
}

// What each runtime writes while it loads (DESIGN.md §9): Docker's classic
// store untars the archive under its data root before applying it, and
// containerd keeps each blob beside its unpacked snapshot: twice the load
// there. podman copies its input into its temp dir and unpacks it there
// too: about three times the load there at its peak (measured in the lab).
// The spool (at most --spool-window of the stream) comes on top, on the
// same disk or its own.
void check_space(NodeRun& run, std::uint64_t spool_bytes, std::uint64_t load_bytes) {
  if (!run.loads()) return;
  const wire::ProbeReply& p = run.probe;
  const bool podman = p.runtime == "podman";
  // Files take their own size at the destination (each new one beside the old until its rename).
  const std::uint64_t load_needs = podman || p.runtime == "files" ? load_bytes : 2 * load_bytes;
  const std::uint64_t root_needs = load_needs + (p.spool_on_root ? spool_bytes : 0);
  const std::string prune = p.runtime == "containerd" ? "crictl rmi --prune" : p.runtime + " image prune";
  if (p.spool_free < spool_bytes)
    run.fail("space", "needs " + human_bytes(spool_bytes) + " free in ~/.cache/treesync for the spool, has " +
                          human_bytes(p.spool_free) + "; free some space on the node, or a smaller --spool-window");
  else if (p.runtime == "files" && p.root_free < root_needs)
    run.fail("space", p.root_dir + " has " + human_bytes(p.root_free) + " free; the files need " +
                          human_bytes(load_needs) + (p.spool_on_root ? " plus " + human_bytes(spool_bytes) + " for the spool" : "") +
                          " (free disk space" + (p.spool_on_root ? ", or a smaller --spool-window" : "") + ")");
  else if (p.root_free < root_needs)
    run.fail("space", runtime_line(p) + " keeps images in " + p.root_dir + ", which has " + human_bytes(p.root_free) +
                          " free; the load needs about " + human_bytes(load_needs) +
                          (p.spool_on_root ? " plus " + human_bytes(spool_bytes) + " for the spool" : "") + " (" +
                          prune + ", free disk space" + (p.spool_on_root ? ", or a smaller --spool-window" : "") + ")");
  else if (podman && p.temp_free < 3 * load_bytes)
    run.fail("space", "podman stages loads in " + p.temp_dir + ", which has " + human_bytes(p.temp_free) +
                          " free; the load needs about " + human_bytes(3 * load_bytes) +
                          " there (free space, or give podman another TMPDIR)");
}

void check_platform(NodeRun& run, const std::vector<WantedImage>& wanted,
                    const std::map<std::string, std::string>& architectures, bool force) {
  if (!run.loads() || run.probe.arch.empty()) return;
  for (const auto& w : wanted) {
    auto it = architectures.find(w.id);
    if (it == architectures.end() || it->second.empty() || it->second == run.probe.arch) continue;
    const std::string name = w.refs.empty() ? w.id : w.refs.front();
    // The operator may know better (a multi-arch binary, an image only
    // stored there, a node with emulation): said once per node.
    if (force) {
      spdlog::warn("{}: --force: loading {}, built for {}, onto this {} node", run.node.name, name, it->second,
                   run.probe.arch);
      continue;
    }
    return run.fail("platform", name + " is built for " + it->second + ", this node is " + run.probe.arch +
                                    "; build or pull " + name + " for " + run.probe.arch +
                                    " on the source (or --force to load it anyway)");
  }
}

void verify_files(NodeRun& run, const Bundle& bundle, const std::vector<std::string>& written) {
  run.status->stage = Stage::Verifying;
  std::vector<std::string> want;
  for (std::size_t i : run.need) want.push_back(bundle.parts[i].digest);
  if (written != want)
    throw NodeError("verify", "the relay wrote " + std::to_string(written.size()) + " file(s) that are not the " +
                                  std::to_string(want.size()) + " the node lacked, by SHA-256");
  events::emit("verified", run.node.name, {{"files", want.size()}});
}

// Verify, then tag: the images the relay found whole after the load must
// be exactly the source's, by config digest (every runtime checks each
// layer against the config's diff IDs), and only then do references move.
void verify_and_tag(NodeRun& run, const std::vector<WantedImage>& wanted, const std::vector<std::string>* loaded,
                    bool pin) {
  run.status->stage = Stage::Verifying;
  if (loaded) {
    // Exactly the wanted set: an extra image means the archive held
    // something the plan did not name.
    std::set<std::string> want, got(loaded->begin(), loaded->end());
    for (const auto& w : wanted) want.insert(w.id);
    if (got != want) {
      auto list = [](const std::set<std::string>& ids) {
        std::string out;
        for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
        return out.empty() ? std::string("no image") : out;
      };
      throw NodeError("verify", "the load produced " + list(got) + " instead of " + list(want) +
                                    "; nothing was tagged");
    }
    events::emit("verified", run.node.name, {{"images", ids_of(wanted)}});
  }
  send_tags(run, pin);
  finish_tags(run, wanted);
}

void send_tags(NodeRun& run, bool pin) {
  run.status->stage = Stage::Verifying;
  for (const auto& [id, refs] : run.decision.tags) run.relay->send_tag(id, refs, pin || run.decision.pin, {});
}

void finish_tags(NodeRun& run, const std::vector<WantedImage>& wanted) {
  const Decision& d = run.decision;
  for (std::size_t i = 0; i < d.tags.size(); ++i) run.relay->await_tag();
  if (!d.tags.empty()) run.tagged_at = Clock::now();
  // Once every tag is on, so the node never lacks a name for the image. A
  // staged name left behind holds nothing wrong: the node is active anyway.
  for (const auto& [id, refs] : d.untag) {
    try {
      run.relay->tag(id, {}, false, refs);
    } catch (const NodeError& e) {
      if (e.relay_lost) throw;
      spdlog::warn("{}: active, but its staged name stays: {}", run.node.name, e.what());
    }
  }
  wire::ProbeReply p = run.relay->probe(ids_of(wanted), false);
  for (const auto& w : wanted) {
    auto it = p.images.find(w.id);
    if (it == p.images.end() || !it->second.present)
      throw NodeError("verify", "image " + w.id + " is not on the node after the load");
    const auto& tags = it->second.tags;
    auto applied = d.tags.find(w.id);
    if (applied == d.tags.end()) continue;
    for (const auto& ref : applied->second)
      if (std::find(tags.begin(), tags.end(), ref) == tags.end())
        throw NodeError("verify", ref + " does not point at " + w.id + " on the node after tagging");
  }
  std::vector<std::string> applied;
  for (const auto& [id, refs] : run.decision.tags) applied.insert(applied.end(), refs.begin(), refs.end());
  // treesync stage: held under its own names, not yet the operator's.
  if (!applied.empty() && std::all_of(applied.begin(), applied.end(), is_staged_ref))
    events::emit("staged", run.node.name, {{"images", ids_of(wanted)}});
  else
    events::emit("tagged", run.node.name, {{"refs", applied}});
}

}  // namespace treesync
