#include "src/delivery/rollout.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "src/cache/image_platform.h"
#include "src/delivery/caps.h"
#include "src/report/events.h"
#include "src/wire/edge_auth.h"

namespace treesync {
namespace {

constexpr int kNone = -3;  // no parent waiting
// A node the source had to feed this often (bad parts, stalls, parents
// lost) has something wrong with it that another edge will not mend.
constexpr int kMaxSourceEdges = 8;
// A relay port that does not answer this fast is taken as firewalled.
constexpr int kDirectConnectMs = 3000;

// Relays take numeric addresses only (no name lookups in a static binary).
std::string numeric_address(const std::string& host) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) throw NodeError("plan", "cannot resolve " + host + ": " + gai_strerror(rc));
  char text[NI_MAXHOST];
  rc = getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
  freeaddrinfo(found);
  if (rc != 0) throw NodeError("plan", "cannot resolve " + host + ": " + gai_strerror(rc));
  return text;
}

}  // namespace

Rollout::Rollout(std::vector<NodeRun>& runs, const DeliveryInput& in, topology::Mode mode)
    : runs_(runs), in_(in), relays_forward_(mode == topology::Mode::Tree) {
  if (const std::uint64_t cap = source_cap(in.options)) source_limiter_ = std::make_shared<wire::RateLimiter>(cap);
  make_plan(mode);
  if (members_.empty()) return;  // nothing to deliver: no plan to announce
  wire::Json parents = wire::Json::object();
  for (std::size_t m = 0; m < members_.size(); ++m) parents[run_of(m).node.name] = parent_name(plan_.parent[m]);
  events::emit("planned", "",
               {{"mode", relays_forward_ ? "tree" : "flat"},
                {"fanout", relays_forward_ ? wire::Json(in_.options.fanout) : wire::Json(nullptr)},
                {"parents", parents}});
}

std::string Rollout::parent_name(int parent) {
  if (parent == topology::kSource) return "source";
  return parent >= 0 ? run_of(static_cast<std::size_t>(parent)).node.name : "";
}

// Every change of a member's parent after the plan, for --events.
void Rollout::note_reparent(std::size_t m, int from, int to, const char* reason, const std::string& detail) {
  auto name = [this](int p) {
    return p == topology::kSource || p >= 0 ? wire::Json(parent_name(p)) : wire::Json(nullptr);
  };
  events::emit("reparented", run_of(m).node.name,
               {{"from", name(from)}, {"to", name(to)}, {"reason", reason}, {"detail", detail},
                {"resume_at", have_[m]}});
}

Rollout::~Rollout() {
  std::vector<std::unique_ptr<wire::Sender>> senders;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finishing_ = true;
    senders.swap(sources_);
  }
  for (auto& s : senders) s->cancel();
}

std::uint64_t Rollout::run() {
  open_receivers();
  drop_unopened();
  start_tree();
  // One watcher per node: each serves its relay until every member has
  // settled, so with fewer threads than members the rest would never be
  // watched and the run would hang (it did past 1024 nodes).
  for_each_node(runs_, runs_.size(), [&](NodeRun& run) {
    int m = member_of(run);
    if (m < 0) return finish_without_load(run, in_.wanted, in_.options.pin);
    watch(static_cast<std::size_t>(m));
  });

  // Senders call back under mu_ when they end: join them without it.
  std::vector<std::unique_ptr<wire::Sender>> senders;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finishing_ = true;
    senders.swap(sources_);
  }
  std::uint64_t sent = 0;
  for (auto& s : senders) {
    if (!s->finished()) s->cancel();
    s->join();
    if (!s->ok() && s->error() != "cancelled") spdlog::warn("source -> {}: {}", s->target().name, s->error());
    sent += s->sent();
  }
  return sent;
}

// The plan over every loading node, what each one's stream carries, and a
// key for each edge.
void Rollout::make_plan(topology::Mode mode) {
  std::vector<const NodeRun*> loaders;
  std::vector<PartList> needs;
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (!runs_[i].loads()) continue;
    members_.push_back(i);
    loaders.push_back(&runs_[i]);
    needs.push_back(runs_[i].need);
  }
  member_of_.assign(runs_.size(), -1);
  for (std::size_t m = 0; m < members_.size(); ++m) member_of_[members_[m]] = static_cast<int>(m);
  plan_ = mode == topology::Mode::Flat ? topology::flat_plan(loaders.size()) : plan_tree(loaders, in_.options.fanout);
  const auto& parts = in_.prepared.bundle.parts;
  for (auto& list : subtree_streams(plan_, needs))
    streams_.push_back({list, in_.prepared.bundle.size_of(list), std::make_shared<wire::PartView>(parts, list)});
  address_.resize(members_.size());
  port_.assign(members_.size(), 0);
  for (std::size_t m = 0; m < members_.size(); ++m) key_.push_back(wire::new_edge_key());
  have_.assign(members_.size(), 0);
  grew_.assign(members_.size(), Clock::now());
  alive_.assign(members_.size(), true);
  queued_.assign(members_.size(), false);
  pending_.assign(members_.size(), kNone);
  tunnels_.resize(members_.size());
  source_sender_.assign(members_.size(), nullptr);
  source_edges_.assign(members_.size(), 0);
  doomed_.assign(members_.size(), "");
}

// Every member checks its room and opens its listener for its first parent.
void Rollout::open_receivers() {
  const Bundle& bundle = in_.prepared.bundle;
  const auto architectures = image_architectures(in_.prepared);
  for_each_node(runs_, static_cast<std::size_t>(in_.options.max_workers), [&](NodeRun& run) {
    int member = member_of(run);
    if (member < 0) return;
    const auto m = static_cast<std::size_t>(member);
    const Stream& s = streams_[m];
    check_platform(run, in_.wanted, architectures, in_.options.force);
    if (run.failed()) return;
    check_space(run, spool_bytes(m), bundle.raw_size_of(run.need));
    if (run.failed()) return;
    address_[m] = numeric_address(run.ssh.host);
    wire::ReceiveRequest req{bundle.parts_of(s.parts), positions_in(s.parts, run.need), bundle.plan_images(),
                             address_[m], key_[m], plan_.parent[m] == topology::kSource, in_.options.spool_window};
    port_[m] = run.relay->open_receive(req);
    run.status->total = s.size;
    run.status->stage = Stage::Receiving;
    spdlog::debug("{}: listening on {}:{} for {} layer(s), {}", run.node.name, address_[m], port_[m],
                  bundle.layers_in(s.parts), human_bytes(s.size));
  });
}

// Members that could not open (no room, no listener) leave the tree before
// anything is sent; their children move as if they had failed later.
void Rollout::drop_unopened() {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t m = 0; m < members_.size(); ++m) {
    if (!run_of(m).failed()) continue;
    alive_[m] = false;
    ++settled_;
    const std::vector<int> orphans = plan_.children[m];
    const std::vector<int> parents = reparent(m);
    for (std::size_t i = 0; i < orphans.size(); ++i)
      note_reparent(static_cast<std::size_t>(orphans[i]), static_cast<int>(m), parents[i], "parent_lost",
                    run_of(m).result.reason);
  }
}

// Interior nodes are told their children, and the source starts on its own.
void Rollout::start_tree() {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t m = 0; m < members_.size(); ++m) {
    if (!alive_[m]) continue;
    run_of(m).relay->set_event_handler([this, m](const wire::Json& e) { on_event(m, e); });
    for (int c : plan_.children[m]) attach(static_cast<int>(m), c, false);
  }
  for (int c : plan_.source_children) attach(topology::kSource, c, false);
}

wire::Target Rollout::target(int member) const {
  auto m = static_cast<std::size_t>(member);
  return {runs_[members_[m]].node.name, address_[m], port_[m]};
}

void Rollout::attach(int parent, int child, bool new_key) {
  const auto c = static_cast<std::size_t>(child);
  if (!new_key) return connect(parent, child);
  key_[c] = wire::new_edge_key();
  pending_[c] = parent;
  run_of(c).relay->expect_parent(key_[c], parent == topology::kSource);
}

void Rollout::connect(int parent, int child) {
  const auto c = static_cast<std::size_t>(child);
  run_of(c).result.parent = parent == topology::kSource ? "source" : run_of(static_cast<std::size_t>(parent)).node.name;
  if (parent != topology::kSource) {
    const auto p = static_cast<std::size_t>(parent);
    run_of(p).relay->forward({run_of(c).node.name, address_[c], port_[c],
                              positions_in(streams_[p].parts, streams_[c].parts), key_[c]},
                             relay_cap(run_of(p).node, in_.options));
    return;
  }
  if (++source_edges_[c] > kMaxSourceEdges) {
    doomed_[c] = "fed by the source " + std::to_string(kMaxSourceEdges) + " times over; giving up";
    return;
  }
  queued_[c] = true;
  source_queue_.push_back(c);
  start_source_edges();
}

// An edge the source gives up on (its node was lost, or moved to a new
// edge) must not keep knocking: senders from the source retry until
// cancelled.
void Rollout::cancel_source_edge(std::size_t m) {
  if (source_sender_[m]) source_sender_[m]->cancel();
  source_sender_[m] = nullptr;
}

void Rollout::start_source_edges() {
  while (!finishing_ && !source_queue_.empty() && source_active_ < static_cast<std::size_t>(in_.options.max_workers)) {
    std::size_t c = source_queue_.front();
    source_queue_.pop_front();
    queued_[c] = false;
    if (!alive_[c] || complete(c)) continue;
    grew_[c] = Clock::now();  // its stall clock starts with its edge
    ++source_active_;
    cancel_source_edge(c);
    sources_.push_back(std::make_unique<wire::Sender>(
        target(static_cast<int>(c)), key_[c], streams_[c].size, in_.reader.stream(streams_[c].parts),
        [this](const wire::Sender&) { source_edge_done(); }, [this, c] { return dial(c); }, 0));
    source_sender_[c] = sources_.back().get();
    sources_.back()->limit(source_limiter_);
    sources_.back()->start();
  }
}

void Rollout::source_edge_done() {
  std::lock_guard<std::mutex> lock(mu_);
  --source_active_;
  start_source_edges();
}

wire::Socket Rollout::dial(std::size_t m) {
  std::unique_lock<std::mutex> lock(tunnels_mu_);
  if (!tunnels_[m]) {
    lock.unlock();
    NodeRun& run = run_of(m);
    // Behind a jump host the relay's port is not for the source to reach:
    // no direct attempt to wait on.
    if (run.ssh.jumps.empty()) {
      try {
        return wire::connect_tcp(address_[m], port_[m], kDirectConnectMs);
      } catch (const wire::Error& e) {
        spdlog::warn("{}: {}; carrying the source's edge over SSH", run.node.name, e.what());
      }
    } else {
      spdlog::info("{}: behind jump host {}; carrying the source's edge over SSH", run.node.name,
                   run.ssh.jumps.back().name);
    }
    auto tunnel = std::make_unique<Tunnel>(run.ssh, address_[m], port_[m]);
    lock.lock();
    if (!tunnels_[m]) tunnels_[m] = std::move(tunnel);
    run.result.via_ssh = true;
  }
  return tunnels_[m]->open();
}

// How far into the whole bundle a member's bytes reach: streams differ, but
// a parent's carries all of its child's, so positions compare.
std::uint64_t Rollout::bundle_position(std::size_t m) const {
  return complete(m) ? in_.prepared.bundle.size() : streams_[m].view->locate(have_[m]).first;
}

std::vector<std::uint64_t> Rollout::bundle_positions() const {
  std::vector<std::uint64_t> out;
  for (std::size_t m = 0; m < members_.size(); ++m) out.push_back(bundle_position(m));
  return out;
}

std::uint64_t Rollout::spool_bytes(std::size_t m) const {
  const std::uint64_t window = in_.options.spool_window;
  return window == 0 ? streams_[m].size : std::min(window, streams_[m].size);
}

// A new parent must hold the child's stream where the child resumes: its
// spool keeps at least the window behind the bytes it has (a chunk and a
// tick of its progress less, to be safe).
bool Rollout::can_feed(std::size_t p, std::size_t c) const {
  if (!contains_parts(streams_[p].parts, streams_[c].parts)) return false;
  if (spool_bytes(p) >= streams_[p].size) return true;
  const std::uint64_t margin = 2 * wire::kChunkSize;
  return bundle_position(p) <= bundle_position(c) + (spool_bytes(p) > margin ? spool_bytes(p) - margin : 0);
}

std::vector<int> Rollout::reparent(std::size_t m) {
  return topology::reparent(plan_, static_cast<int>(m), bundle_positions(), alive_, [this](int p, int c) {
    return can_feed(static_cast<std::size_t>(p), static_cast<std::size_t>(c));
  });
}

// The child fell further behind than its parent's spool window: the source,
// which holds every byte, takes it over where it is.
void Rollout::child_behind(std::size_t parent, const std::string& child) {
  const auto& kids = plan_.children[parent];
  auto it = std::find_if(kids.begin(), kids.end(), [&](int c) { return run_of(static_cast<std::size_t>(c)).node.name == child; });
  if (it == kids.end()) return;  // moved already
  const auto c = static_cast<std::size_t>(*it);
  if (!alive_[c] || complete(c)) return;
  const std::string why = "fell more than the spool window (" + human_bytes(spool_bytes(parent)) + ") behind " +
                          run_of(parent).node.name;
  spdlog::warn("{}: {}; resuming from the source at byte {}", child, why, have_[c]);
  note_reparent(c, static_cast<int>(parent), topology::kSource, "behind_window", why);
  move_to_source(c);
}

void Rollout::watch(std::size_t m) {
  NodeRun& run = run_of(m);
  bool relay_ok = true;
  std::string lost_why;  // a relay lost after its own load: its outcome stands, its children move
  try {
    wire::Loaded loaded = run.relay->wait_loaded([this, m] { check_stall(m); });
    events::emit("loaded", run.node.name,
                 {{in_.files ? "files" : "images", loaded.ids}, {"bytes", loaded.received}, {"wire_bytes", loaded.wire_bytes}});
    if (in_.files)
      verify_files(run, in_.prepared.bundle, loaded.ids);
    else
      verify_and_tag(run, in_.wanted, &loaded.ids, in_.options.pin);
    run.finish(Outcome::Loaded);
    spdlog::info("{}: loaded and verified ({} bytes over the wire)", run.node.name, loaded.wire_bytes);
  } catch (const NodeError& e) {
    run.fail(e.step, e.what());
    relay_ok = !e.relay_lost;
  } catch (const std::exception& e) {
    run.fail("", e.what());
    relay_ok = false;
  }
  ++settled_;  // always: the other watchers serve until every member settles
  // In a tree, a finished node keeps forwarding to its subtree (and may
  // adopt orphans) until every node has settled. In flat mode nobody
  // forwards, and waiting for the others would only add to the run.
  try {
    if (relay_ok && relays_forward_) run.relay->serve_until([this] { return settled_ == members_.size(); });
  } catch (const std::exception& e) {
    spdlog::warn("{}: relay lost after its own load: {}", run.node.name, e.what());
    lost_why = e.what();
    relay_ok = false;
  }
  if (!relay_ok) lost(m, lost_why.empty() ? run.result.reason : lost_why);
}

void Rollout::on_event(std::size_t m, const wire::Json& e) {
  const std::string type = wire::type_of(e);
  std::lock_guard<std::mutex> lock(mu_);
  const std::string& name = run_of(m).node.name;
  try {
    if (type == wire::Progress::kType || type == wire::Received::kType) {
      std::uint64_t bytes = type == wire::Progress::kType ? wire::from_message<wire::Progress>(e).received
                                                          : wire::from_message<wire::Received>(e).bytes;
      if (bytes > have_[m]) grew_[m] = Clock::now();
      have_[m] = std::max(have_[m], bytes);
      run_of(m).result.bytes = have_[m];
      run_of(m).status->bytes = have_[m];
      if (type == wire::Received::kType) {
        run_of(m).status->stage = Stage::Loading;
        spdlog::info("{}: received every byte; {} finishing", name, in_.files ? "the files' renames" : "docker load");
        events::emit("received", name, {{"bytes", have_[m]}});
      } else {
        events::receiving(name, have_[m], streams_[m].size);
      }
    } else if (type == wire::ChildFailed::kType) {
      auto f = wire::from_message<wire::ChildFailed>(e);
      spdlog::warn("{}: forwarding to {} failed: {}", name, f.child, f.message);
      if (f.behind) child_behind(m, f.child);
    } else if (type == wire::Corrupt::kType) {
      auto c = wire::from_message<wire::Corrupt>(e);
      spdlog::warn("{}: the chunk at byte {} from {} failed its XXH3 check; asked for it again", name, c.offset, c.peer);
    } else if (type == wire::Refused::kType) {
      auto r = wire::from_message<wire::Refused>(e);
      spdlog::warn("{}: refused a connection from {}: {} ({} refused so far)", name, r.peer, r.reason, r.count);
      run_of(m).result.refused = r.count;
    } else if (type == wire::BadPart::kType) {
      bad_part(m, wire::from_message<wire::BadPart>(e));
    } else if (type == wire::ParentExpected::kType) {
      auto p = wire::from_message<wire::ParentExpected>(e);
      if (pending_[m] != kNone && p.key == key_[m]) connect(std::exchange(pending_[m], kNone), static_cast<int>(m));
    }
  } catch (const wire::Error& err) {
    spdlog::warn("{}: malformed event from the relay: {}", name, err.what());
  }
}

// The parent sent bytes that failed their digest (or chunk after chunk
// that failed its XXH3): the relay dropped it and rewound; the source, which
// reads from its own cache, feeds it now.
void Rollout::bad_part(std::size_t m, const wire::BadPart& e) {
  const std::string from = e.peer.empty() ? "its parent" : e.peer;
  const std::string what = e.part.empty() ? "chunk after chunk from " + from + " failed its XXH3 check"
                                          : e.part + " from " + from + " failed its SHA-256 check";
  spdlog::warn("{}: {}; resuming from the source at byte {}", run_of(m).node.name, what, e.offset);
  have_[m] = std::min(have_[m], e.offset);
  note_reparent(m, plan_.parent[m], topology::kSource, "bad_part", what);
  move_to_source(m);
}

void Rollout::move_to_source(std::size_t m) {
  grew_[m] = Clock::now();
  topology::move_to_source(plan_, static_cast<int>(m));
  attach(topology::kSource, static_cast<int>(m), true);
}

// A node stalled under a relay parent may have a parent that lies about
// its progress: the source, which does not lie, takes it over. Stalled
// under the source, the node itself is at fault.
void Rollout::check_stall(std::size_t m) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!doomed_[m].empty()) throw NodeError("receive", doomed_[m], true);
  const int p = plan_.parent[m];
  if (p == topology::kDetached) return;  // its old parent's loss moves it
  topology::Progress me = progress_of(m), parent;
  if (p >= 0) parent = progress_of(static_cast<std::size_t>(p));
  if (!topology::stalled(me, p >= 0 ? &parent : nullptr, in_.options.stall_timeout)) return;
  if (p == topology::kSource)
    throw NodeError("receive", "no progress for " + std::to_string(in_.options.stall_timeout) + " s", true);
  const std::string why = "no progress for " + std::to_string(in_.options.stall_timeout) + " s from " + parent_name(p);
  spdlog::warn("{}: {}; resuming from the source at byte {}", run_of(m).node.name, why, have_[m]);
  note_reparent(m, p, topology::kSource, "stalled", why);
  move_to_source(m);
}

topology::Progress Rollout::progress_of(std::size_t m) const {
  return {bundle_position(m), std::chrono::duration<double>(Clock::now() - grew_[m]).count(), complete(m),
          queued_[m] || pending_[m] != kNone, alive_[m]};
}

void Rollout::lost(std::size_t m, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  alive_[m] = false;
  cancel_source_edge(m);
  std::vector<int> orphans = plan_.children[m];
  std::vector<int> parents = reparent(m);
  for (std::size_t i = 0; i < orphans.size(); ++i) {
    auto c = static_cast<std::size_t>(orphans[i]);
    if (complete(c)) continue;  // it holds everything already
    spdlog::warn("{}: lost its parent {}; resuming from {} at byte {}", run_of(c).node.name, run_of(m).node.name,
                 parents[i] == topology::kSource ? "the source" : run_of(static_cast<std::size_t>(parents[i])).node.name,
                 have_[c]);
    grew_[c] = Clock::now();
    note_reparent(c, static_cast<int>(m), parents[i], "parent_lost", why);
    attach(parents[i], orphans[i], true);
  }
}

}  // namespace treesync
