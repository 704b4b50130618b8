#include "src/delivery/rollout.h"

#include <algorithm>
#include <utility>

#include "src/cache/image_platform.h"
#include "src/delivery/caps.h"
#include "src/delivery/relay_loop.h"
#include "src/input/rate.h"
#include "src/report/events.h"
#include "src/ssh/numeric_address.h"
#include "src/wire/edge_auth.h"
#include "topology/stripes.h"

namespace treesync {
namespace {

// A node the source had to feed this often (bad parts, stalls, parents
// lost) has something wrong with it that another edge will not mend.
constexpr int kMaxSourceEdges = 8;
// A relay port that does not answer this fast is taken as firewalled.
constexpr int kDirectConnectMs = 3000;
// A stripe this far behind the node's others has a parent that cannot keep
// up (a slow uplink, or starved itself): at a tenth of the rate it is
// reached in seconds, and spools and TCP never hold stripes this far apart.
constexpr std::uint64_t kSlowLag = 32u << 20;

}  // namespace

Rollout::Rollout(std::vector<NodeRun>& runs, const DeliveryInput& in, topology::Mode mode)
    : runs_(runs), in_(in), relays_forward_(mode != topology::Mode::Flat) {
  if (const std::uint64_t cap = source_cap(in.options))
    source_limiter_ = std::make_shared<wire::RateLimiter>(cap);
  else if (in.options.pace)
    source_pace_ = std::make_shared<wire::Pace>();
  make_plan(mode);
  if (members_.empty()) return;  // nothing to deliver: no plan to announce
  wire::Json parents = wire::Json::object();
  for (std::size_t m = 0; m < members_.size(); ++m) parents[run_of(m).node.name] = parents_of(m);
  events::emit("planned", "",
               {{"mode", topology::mode_name(mode)},
                {"fanout", relays_forward_ ? wire::Json(in_.options.fanout) : wire::Json(nullptr)},
                {"parents", parents}});
}

std::string Rollout::parent_name(int parent) {
  if (parent == topology::kSource) return "source";
  return parent >= 0 ? run_of(static_cast<std::size_t>(parent)).node.name : "";
}

std::string Rollout::parents_of(std::size_t m) {
  std::string out;
  for (int s = 0; s < stripes(); ++s) out += (s ? "," : "") + parent_name(tree(s).parent[m]);
  return out;
}

// Every change of a member's parent after the plan, for --events.
void Rollout::note_reparent(int s, std::size_t m, int from, int to, const char* reason, const std::string& detail) {
  auto name = [this](int p) {
    return p == topology::kSource || p >= 0 ? wire::Json(parent_name(p)) : wire::Json(nullptr);
  };
  events::emit("reparented", run_of(m).node.name,
               {{"from", name(from)}, {"to", name(to)}, {"stripe", s}, {"reason", reason}, {"detail", detail},
                {"resume_at", edge(s, m).have}});
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
  // A few threads serve every node's relay (relay_loop.h), each member's
  // watch a state the turns move on; nodes that only tag take one turn.
  std::vector<NodeRun*> todo;
  std::vector<RemoteRelay*> relays;
  for (auto& run : runs_)
    if (!run.failed()) {
      todo.push_back(&run);
      relays.push_back(run.relay.get());
    }
  phase_.assign(members_.size(), Phase::Loading);
  serve_relays(relays, std::max<std::size_t>(4, static_cast<std::size_t>(in_.options.max_workers)),
               [&](std::size_t i, RelayTurn turn) {
                 NodeRun& run = *todo[i];
                 const int m = member_of(run);
                 if (m >= 0) return watch(static_cast<std::size_t>(m), turn);
                 guarded(run, [&] { finish_without_load(run, in_.wanted, in_.options.pin); });
                 return false;
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
  if (source_pace_ && source_pace_->link())
    spdlog::info("pace: the source measured its link at {} on the wire and sent just under it",
                 rate_text(source_pace_->link()));
  return sent;
}

// The plan over every loading node, what each one's stream carries, and a
// key for each edge. Striped, every node's stream is what any node lacks:
// a stripe is cut from the whole stream, so it cannot be thinned per
// subtree (sync.cpp stripes only nodes that lack the same).
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
  const std::size_t n = loaders.size();
  std::vector<PartList> lists;
  if (mode == topology::Mode::Stripes) {
    stripes_ = topology::stripe_plan(n, in_.options.fanout, leaf_only(loaders, in_.options));
    PartList all;
    for (const auto& need : needs) all = merge_parts(all, need);
    lists.assign(n, all);
  } else {
    stripes_.trees = {mode == topology::Mode::Flat ? topology::flat_plan(n) : plan_tree(loaders, in_.options.fanout)};
    stripes_.interior.assign(n, -1);
    lists = subtree_streams(stripes_.trees[0], needs);
  }
  const auto& parts = in_.prepared.bundle.parts;
  for (auto& list : lists) {
    const std::uint64_t size = in_.prepared.bundle.size_of(list);
    streams_.push_back({list, size, std::make_shared<wire::PartView>(parts, list), wire::StripeMap(size, stripes())});
  }
  address_.resize(n);
  port_.assign(n, 0);
  edges_.assign(static_cast<std::size_t>(stripes()), std::vector<Edge>(n));
  for (auto& per_member : edges_)
    for (auto& e : per_member) {
      e.key = wire::new_edge_key();
      e.grew = Clock::now();
    }
  received_.assign(n, 0);
  alive_.assign(n, true);
  tunnels_.resize(n);
  source_edges_.assign(n, 0);
  doomed_.assign(n, "");
}

// Every member checks its room and opens its listener for its first parents.
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
    address_[m] = numeric_address(run.ssh.host, "plan");
    std::vector<wire::StripeParent> parents;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int k = 0; k < stripes(); ++k) parents.push_back({edge(k, m).key, tree(k).parent[m] == topology::kSource});
    }
    wire::ReceiveRequest req{bundle.parts_of(s.parts), positions_in(s.parts, run.need), bundle.plan_images(),
                             address_[m], parents, in_.options.spool_window};
    port_[m] = run.relay->open_receive(req);
    run.status->total = s.size;
    run.status->stage = Stage::Receiving;
    spdlog::debug("{}: listening on {}:{} for {} layer(s), {}", run.node.name, address_[m], port_[m],
                  bundle.layers_in(s.parts), human_bytes(s.size));
  });
}

// Members that could not open (no room, no listener) leave the trees before
// anything is sent; their children move as if they had failed later.
void Rollout::drop_unopened() {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t m = 0; m < members_.size(); ++m) {
    if (!run_of(m).failed()) continue;
    alive_[m] = false;
    ++settled_;
    std::vector<std::vector<int>> orphans;
    for (int s = 0; s < stripes(); ++s) orphans.push_back(tree(s).children[m]);
    const auto parents = reparent(m);
    for (int s = 0; s < stripes(); ++s)
      for (std::size_t i = 0; i < orphans[static_cast<std::size_t>(s)].size(); ++i)
        note_reparent(s, static_cast<std::size_t>(orphans[static_cast<std::size_t>(s)][i]), static_cast<int>(m),
                      parents[static_cast<std::size_t>(s)][i], "parent_lost", run_of(m).result.reason);
  }
}

// Interior nodes are told their children, and the source starts on its own.
void Rollout::start_tree() {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t m = 0; m < members_.size(); ++m) {
    if (!alive_[m]) continue;
    run_of(m).relay->set_event_handler([this, m](const wire::Json& e) { on_event(m, e); });
  }
  for (int s = 0; s < stripes(); ++s) {
    for (std::size_t m = 0; m < members_.size(); ++m)
      if (alive_[m])
        for (int c : tree(s).children[m]) attach(s, static_cast<int>(m), c, false);
    for (int c : tree(s).source_children) attach(s, topology::kSource, c, false);
  }
}

wire::Target Rollout::target(int member) const {
  auto m = static_cast<std::size_t>(member);
  return {runs_[members_[m]].node.name, address_[m], port_[m]};
}

void Rollout::attach(int s, int parent, int child, bool new_key) {
  const auto c = static_cast<std::size_t>(child);
  if (!new_key) return connect(s, parent, child);
  Edge& e = edge(s, c);
  e.key = wire::new_edge_key();
  e.pending = parent;
  run_of(c).relay->expect_parent(s, e.key, parent == topology::kSource);
}

void Rollout::connect(int s, int parent, int child) {
  const auto c = static_cast<std::size_t>(child);
  run_of(c).result.parent = parents_of(c);
  if (parent != topology::kSource) {
    const auto p = static_cast<std::size_t>(parent);
    run_of(p).relay->forward({run_of(c).node.name, address_[c], port_[c], s,
                              positions_in(streams_[p].parts, streams_[c].parts), edge(s, c).key},
                             relay_cap(run_of(p).node, in_.options), in_.options.pace);
    return;
  }
  if (++source_edges_[c] > kMaxSourceEdges * stripes()) {
    doomed_[c] = "fed by the source " + std::to_string(kMaxSourceEdges * stripes()) + " times over; giving up";
    return;
  }
  edge(s, c).queued = true;
  source_queue_.emplace_back(s, c);
  start_source_edges();
}

// An edge the source gives up on (its node was lost, or moved to a new
// edge) must not keep knocking: senders from the source retry until
// cancelled.
void Rollout::cancel_source_edge(int s, std::size_t m) {
  Edge& e = edge(s, m);
  if (e.source) e.source->cancel();
  e.source = nullptr;
}

void Rollout::start_source_edges() {
  while (!finishing_ && !source_queue_.empty() && source_active_ < static_cast<std::size_t>(in_.options.max_workers)) {
    auto [s, c] = source_queue_.front();
    source_queue_.pop_front();
    Edge& e = edge(s, c);
    e.queued = false;
    if (!alive_[c] || complete(s, c)) continue;
    e.grew = Clock::now();  // its stall clock starts with its edge
    ++source_active_;
    cancel_source_edge(s, c);
    const Stream& stream = streams_[c];
    wire::ByteReader reader = in_.reader.stream(stream.parts);
    if (stripes() > 1) reader = wire::stripe_reader(stream.map, s, reader);
    sources_.push_back(std::make_unique<wire::Sender>(
        target(static_cast<int>(c)), e.key, stream.map.stripe_size(s), reader,
        [this](const wire::Sender&) { source_edge_done(); }, [this, c = c] { return dial(c); }, 0));
    e.source = sources_.back().get();
    if (source_pace_)
      sources_.back()->pace(source_pace_);
    else
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

std::uint64_t Rollout::position(int s, std::size_t m) const {
  if (stripes() > 1) return edge(s, m).have;
  return complete(m) ? in_.prepared.bundle.size() : streams_[m].view->locate(edge(0, m).have).first;
}

std::vector<std::uint64_t> Rollout::positions(int s) const {
  std::vector<std::uint64_t> out;
  for (std::size_t m = 0; m < members_.size(); ++m) out.push_back(position(s, m));
  return out;
}

std::uint64_t Rollout::spool_bytes(std::size_t m) const {
  const std::uint64_t window = in_.options.spool_window;
  return window == 0 ? streams_[m].size : std::min(window, streams_[m].size);
}

// A new parent must hold the child's stream where the child resumes: its
// spool keeps at least the window behind the bytes it has (a chunk and a
// tick of its progress less, to be safe).
bool Rollout::can_feed(int s, std::size_t p, std::size_t c) const {
  if (!contains_parts(streams_[p].parts, streams_[c].parts)) return false;
  const std::uint64_t window = streams_[p].map.stripe_window(s, in_.options.spool_window);
  if (window >= streams_[p].map.stripe_size(s)) return true;
  const std::uint64_t margin = 2 * wire::kChunkSize;
  return position(s, p) <= position(s, c) + (window > margin ? window - margin : 0);
}

std::vector<std::vector<int>> Rollout::reparent(std::size_t m) {
  if (stripes() == 1)
    return {topology::reparent(tree(0), static_cast<int>(m), positions(0), alive_, [this](int p, int c) {
      return can_feed(0, static_cast<std::size_t>(p), static_cast<std::size_t>(c));
    })};
  std::vector<std::vector<std::uint64_t>> have;
  for (int s = 0; s < stripes(); ++s) have.push_back(positions(s));
  return topology::reparent_stripes(stripes_, static_cast<int>(m), have, alive_);
}

// The child fell further behind than its parent's spool window: the source,
// which holds every byte, takes it over where it is.
void Rollout::child_behind(int s, std::size_t parent, const std::string& child) {
  const auto& kids = tree(s).children[parent];
  auto it = std::find_if(kids.begin(), kids.end(), [&](int c) { return run_of(static_cast<std::size_t>(c)).node.name == child; });
  if (it == kids.end()) return;  // moved already
  const auto c = static_cast<std::size_t>(*it);
  if (!alive_[c] || complete(s, c)) return;
  const std::uint64_t window = streams_[parent].map.stripe_window(s, in_.options.spool_window);
  const std::string why = "fell more than the spool window (" + human_bytes(window) + ") behind " +
                          run_of(parent).node.name;
  spdlog::warn("{}: {}; resuming from the source at byte {}", child, why, edge(s, c).have);
  note_reparent(s, c, static_cast<int>(parent), topology::kSource, "behind_window", why);
  move_to_source(s, c);
}

bool Rollout::watch(std::size_t m, RelayTurn turn) {
  NodeRun& run = run_of(m);
  if (phase_[m] == Phase::Loading) {
    if (!turn.ready && !turn.tick) return true;
    bool relay_ok = true;
    try {
      const std::optional<wire::Loaded> loaded = run.relay->poll_loaded();
      if (!loaded) {
        check_stall(m);
        return true;
      }
      events::emit("loaded", run.node.name,
                   {{in_.files ? "files" : "images", loaded->ids}, {"bytes", loaded->received}, {"wire_bytes", loaded->wire_bytes}});
      if (in_.files)
        verify_files(run, in_.prepared.bundle, loaded->ids);
      else
        verify_and_tag(run, in_.wanted, &loaded->ids, in_.options.pin);
      run.finish(Outcome::Loaded);
      spdlog::info("{}: loaded and verified ({} bytes over the wire)", run.node.name, loaded->wire_bytes);
    } catch (const NodeError& e) {
      run.fail(e.step, e.what());
      relay_ok = !e.relay_lost;
    } catch (const std::exception& e) {
      run.fail("", e.what());
      relay_ok = false;
    }
    ++settled_;  // always: the others serve until every member settles
    if (!relay_ok) {
      lost(m, run.result.reason);
      return false;
    }
    // In a tree, a finished node keeps forwarding to its subtree (and may
    // adopt orphans) until every node has settled. In flat mode nobody
    // forwards, and waiting for the others would only add to the run.
    if (!relays_forward_) return false;
    phase_[m] = Phase::Serving;
  }
  if (settled_ == members_.size() || shutdown_flag()) return false;
  if (!turn.ready && !turn.tick) return true;
  try {
    run.relay->poll_serving();
  } catch (const std::exception& e) {
    // Its outcome stands; its children move.
    spdlog::warn("{}: relay lost after its own load: {}", run.node.name, e.what());
    lost(m, e.what());
    return false;
  }
  return true;
}

void Rollout::take_progress(std::size_t m, std::uint64_t received, const std::vector<std::uint64_t>& stripes_held) {
  received_[m] = std::max(received_[m], received);
  for (int s = 0; s < stripes(); ++s) {
    Edge& e = edge(s, m);
    const std::uint64_t held = complete(m) ? streams_[m].map.stripe_size(s)
                               : static_cast<std::size_t>(s) < stripes_held.size() ? stripes_held[static_cast<std::size_t>(s)]
                                                                                   : 0;
    if (held > e.have) e.grew = Clock::now();
    e.have = std::max(e.have, held);
  }
  run_of(m).result.bytes = received_[m];
  run_of(m).status->bytes = received_[m];
}

void Rollout::on_event(std::size_t m, const wire::Json& e) {
  const std::string type = wire::type_of(e);
  std::lock_guard<std::mutex> lock(mu_);
  const std::string& name = run_of(m).node.name;
  try {
    if (type == wire::Progress::kType) {
      auto p = wire::from_message<wire::Progress>(e);
      take_progress(m, p.received, p.stripes);
      events::receiving(name, received_[m], streams_[m].size);
    } else if (type == wire::Received::kType) {
      take_progress(m, wire::from_message<wire::Received>(e).bytes, {});
      run_of(m).status->stage = Stage::Loading;
      spdlog::info("{}: received every byte; {} finishing", name, in_.files ? "the files' renames" : "docker load");
      events::emit("received", name, {{"bytes", received_[m]}});
    } else if (type == wire::ChildFailed::kType) {
      auto f = wire::from_message<wire::ChildFailed>(e);
      spdlog::warn("{}: forwarding to {} failed: {}", name, f.child, f.message);
      if (f.behind && f.stripe >= 0 && f.stripe < stripes()) child_behind(f.stripe, m, f.child);
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
      if (p.stripe < 0 || p.stripe >= stripes()) return;
      Edge& edge_in = edge(p.stripe, m);
      if (edge_in.pending != kNone && p.key == edge_in.key)
        connect(p.stripe, std::exchange(edge_in.pending, kNone), static_cast<int>(m));
    }
  } catch (const wire::Error& err) {
    spdlog::warn("{}: malformed event from the relay: {}", name, err.what());
  }
}

// The parents sent bytes that failed their digest (or chunk after chunk
// that failed its XXH3): the relay dropped them and rewound; the source,
// which reads from its own cache, feeds every stripe now.
void Rollout::bad_part(std::size_t m, const wire::BadPart& e) {
  const std::string from = e.peer.empty() ? "its parent" : e.peer;
  const std::string what = e.part.empty() ? "chunk after chunk from " + from + " failed its XXH3 check"
                                          : e.part + " from " + from + " failed its SHA-256 check";
  spdlog::warn("{}: {}; resuming from the source at byte {}", run_of(m).node.name, what, e.offset);
  received_[m] = std::min(received_[m], e.offset);
  for (int s = 0; s < stripes(); ++s) {
    Edge& in = edge(s, m);
    in.have = std::min(in.have, streams_[m].map.stripe_offset_from(s, e.offset));
    note_reparent(s, m, tree(s).parent[m], topology::kSource, "bad_part", what);
    move_to_source(s, m);
  }
}

void Rollout::move_to_source(int s, std::size_t m) {
  edge(s, m).grew = Clock::now();
  topology::move_to_source(tree(s), static_cast<int>(m));
  attach(s, topology::kSource, static_cast<int>(m), true);
}

// A node stalled under a relay parent may have a parent that lies about
// its progress: the source, which does not lie, takes it over. Stalled
// under the source, the node itself is at fault.
void Rollout::check_stall(std::size_t m) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!doomed_[m].empty()) throw NodeError("receive", doomed_[m], true);
  for (int s = 0; s < stripes(); ++s) {
    const int p = tree(s).parent[m];
    if (p == topology::kDetached) continue;  // its old parent's loss moves it
    topology::Progress me = progress_of(s, m), parent;
    if (p >= 0) parent = progress_of(s, static_cast<std::size_t>(p));
    if (!topology::stalled(me, p >= 0 ? &parent : nullptr, in_.options.stall_timeout)) continue;
    // Idle only because its window is full while the load waits for a
    // slower stripe: that stripe's parent is the one to move (once it was
    // this one's, moved to the source, and then the node failed).
    if (stripes() > 1) {
      std::vector<topology::Progress> mine;
      for (int t = 0; t < stripes(); ++t) mine.push_back(progress_of(t, m));
      const int t = topology::held_back_by(mine, s, streams_[m].map.stripe_window(s, in_.options.spool_window), streams_[m].map.unit(), in_.options.stall_timeout);
      if (t >= 0) {
        const int q = tree(t).parent[m];
        if (q < 0 || demoted(static_cast<std::size_t>(q))) continue;  // the source does not lie: wait for it
        demote(static_cast<std::size_t>(q), run_of(m).node.name + "'s stripe " + std::to_string(t) + " from it holds back its others");
        // A full stall timeout for the new parent before anyone is blamed again.
        for (int u = 0; u < stripes(); ++u) edge(u, m).grew = Clock::now();
        return;
      }
    }
    if (p == topology::kSource)
      throw NodeError("receive", "no progress for " + std::to_string(in_.options.stall_timeout) + " s", true);
    const std::string why = "no progress for " + std::to_string(in_.options.stall_timeout) + " s from " + parent_name(p);
    spdlog::warn("{}: {}; resuming from the source at byte {}", run_of(m).node.name, why, edge(s, m).have);
    note_reparent(s, m, p, topology::kSource, "stalled", why);
    move_to_source(s, m);
  }
  if (stripes() > 1) check_slow(m);
}

// A stripe far behind the node's others, further than its parent's is
// (topology::slow_forwarder): the parent is the slow one. It becomes a leaf
// in every tree, so it holds back nobody but itself.
void Rollout::check_slow(std::size_t m) {
  const auto lag = [&](int s, std::size_t n) {
    std::uint64_t lead = 0;
    for (int t = 0; t < stripes(); ++t) lead = std::max(lead, edge(t, n).have);
    return lead - edge(s, n).have;
  };
  for (int s = 0; s < stripes(); ++s) {
    const int p = tree(s).parent[m];
    if (p < 0 || complete(s, m)) continue;
    const auto pi = static_cast<std::size_t>(p);
    if (!topology::slow_forwarder(lag(s, m), lag(s, pi), kSlowLag)) continue;
    if (demoted(pi)) continue;
    demote(pi, run_of(m).node.name + "'s stripe " + std::to_string(s) + " from it is " +
                   human_bytes(lag(s, m)) + " behind its others");
    return;
  }
}

void Rollout::demote(std::size_t p, const std::string& why) {
  spdlog::warn("{}: too slow to forward ({}); its children move, it stays a leaf", run_of(p).node.name, why);
  stripes_.leaf_only.resize(members_.size(), false);
  stripes_.leaf_only[p] = true;
  // Take it out as if it had failed, then hang it back where it was, as a leaf.
  std::vector<int> was_below;
  std::vector<std::vector<int>> orphans;
  for (int s = 0; s < stripes(); ++s) {
    was_below.push_back(tree(s).parent[p]);
    orphans.push_back(tree(s).children[p]);
  }
  std::vector<bool> alive = alive_;
  alive[p] = false;
  std::vector<std::vector<std::uint64_t>> have;
  for (int s = 0; s < stripes(); ++s) have.push_back(positions(s));
  const auto parents = topology::reparent_stripes(stripes_, static_cast<int>(p), have, alive);
  stripes_.interior[p] = -1;
  for (int s = 0; s < stripes(); ++s) {
    const int above = was_below[static_cast<std::size_t>(s)];
    if (above == topology::kDetached) continue;
    tree(s).parent[p] = above;
    (above == topology::kSource ? tree(s).source_children : tree(s).children[static_cast<std::size_t>(above)]).push_back(static_cast<int>(p));
  }
  for (int s = 0; s < stripes(); ++s)
    for (std::size_t i = 0; i < orphans[static_cast<std::size_t>(s)].size(); ++i) {
      const auto c = static_cast<std::size_t>(orphans[static_cast<std::size_t>(s)][i]);
      const int to = parents[static_cast<std::size_t>(s)][i];
      if (complete(s, c)) continue;
      note_reparent(s, c, static_cast<int>(p), to, "slow_parent", why);
      attach(s, to, static_cast<int>(c), true);
    }
}

topology::Progress Rollout::progress_of(int s, std::size_t m) const {
  const Edge& e = edge(s, m);
  return {position(s, m), std::chrono::duration<double>(Clock::now() - e.grew).count(), complete(s, m),
          e.queued || e.pending != kNone, alive_[m]};
}

void Rollout::lost(std::size_t m, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  alive_[m] = false;
  std::vector<std::vector<int>> orphans;
  for (int s = 0; s < stripes(); ++s) {
    cancel_source_edge(s, m);
    orphans.push_back(tree(s).children[m]);
  }
  const auto parents = reparent(m);
  for (int s = 0; s < stripes(); ++s)
    for (std::size_t i = 0; i < orphans[static_cast<std::size_t>(s)].size(); ++i) {
      const auto c = static_cast<std::size_t>(orphans[static_cast<std::size_t>(s)][i]);
      const int to = parents[static_cast<std::size_t>(s)][i];
      if (complete(s, c)) continue;  // it holds everything already
      spdlog::warn("{}: lost its parent {}; resuming from {} at byte {}", run_of(c).node.name, run_of(m).node.name,
                   to == topology::kSource ? "the source" : run_of(static_cast<std::size_t>(to)).node.name,
                   edge(s, c).have);
      edge(s, c).grew = Clock::now();
      note_reparent(s, c, static_cast<int>(m), to, "parent_lost", why);
      attach(s, to, static_cast<int>(c), true);
    }
}

}  // namespace treesync
