#include "src/delivery/tree_delivery.h"

#include <netdb.h>
#include <sys/socket.h>

#include <fstream>

namespace treesync {
namespace {

// Threads that wait on relays: one per loading node, up to this many.
constexpr std::size_t kMaxWatchers = 1024;

std::string random_token() {
  unsigned char raw[16];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(raw), sizeof raw)) throw std::runtime_error("cannot read /dev/urandom");
  return wire::to_hex(raw, sizeof raw);
}

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

TreeDelivery::TreeDelivery(std::vector<NodeRun>& runs, const DeliveryInput& in)
    : runs_(runs), in_(in), token_(random_token()) {}

TreeDelivery::~TreeDelivery() {
  for (auto& f : sources_) f->cancel();
  sources_.clear();
}

std::uint64_t TreeDelivery::run() {
  make_plan();
  open_receivers();
  drop_unopened();
  start_tree();
  std::size_t watchers = std::min(runs_.size(), kMaxWatchers);
  for_each_node(runs_, watchers, [&](NodeRun& run) {
    int m = member_of(run);
    if (m < 0) return finish_without_load(run, in_.wanted);
    watch(static_cast<std::size_t>(m));
  });

  std::uint64_t sent = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& f : sources_) {
    if (!f->finished()) f->cancel();
    f->join();
    if (!f->ok() && f->error() != "cancelled") spdlog::warn("source -> {}: {}", f->target().name, f->error());
    sent += f->sent();
  }
  return sent;
}

// The tree over every loading node, and what each one's stream carries.
void TreeDelivery::make_plan() {
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
  plan_ = plan_tree(loaders, in_.options.fanout);
  const auto& parts = in_.prepared.bundle.parts;
  for (auto& list : subtree_streams(plan_, needs))
    streams_.push_back({list, in_.prepared.bundle.size_of(list), std::make_shared<wire::PartView>(parts, list)});
  address_.resize(members_.size());
  port_.assign(members_.size(), 0);
  have_.assign(members_.size(), 0);
  grew_.assign(members_.size(), Clock::now());
  alive_.assign(members_.size(), true);
}

// Every member checks its room and opens its listener, with the session token.
void TreeDelivery::open_receivers() {
  const Bundle& bundle = in_.prepared.bundle;
  for_each_node(runs_, static_cast<std::size_t>(in_.options.max_workers), [&](NodeRun& run) {
    int member = member_of(run);
    if (member < 0) return;
    const auto m = static_cast<std::size_t>(member);
    const Stream& s = streams_[m];
    check_space(run, s.size, bundle.raw_size_of(run.need));
    if (run.failed()) return;
    address_[m] = numeric_address(run.node.host);
    port_[m] = run.relay->open_receive(bundle.parts_of(s.parts), positions_in(s.parts, run.need), address_[m], token_);
    run.status->total = s.size;
    run.status->stage = Stage::Receiving;
    spdlog::debug("{}: listening on {}:{} for {} layer(s), {}", run.node.name, address_[m], port_[m],
                  bundle.layers_in(s.parts), human_bytes(s.size));
  });
}

// Members that could not open (no room, no listener) leave the tree before
// anything is sent; their children move as if they had failed later.
void TreeDelivery::drop_unopened() {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t m = 0; m < members_.size(); ++m) {
    if (!run_of(m).failed()) continue;
    alive_[m] = false;
    ++settled_;
    reparent(m);
  }
}

// Interior nodes are told their children, and the source starts on its own.
void TreeDelivery::start_tree() {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t m = 0; m < members_.size(); ++m) {
    if (!alive_[m]) continue;
    run_of(m).relay->set_event_handler([this, m](const wire::Json& e) { on_event(m, e); });
    for (int c : plan_.children[m]) attach(static_cast<int>(m), c);
  }
  for (int c : plan_.source_children) attach(topology::kSource, c);
}

wire::Target TreeDelivery::target(int member) const {
  auto m = static_cast<std::size_t>(member);
  return {runs_[members_[m]].node.name, address_[m], port_[m]};
}

void TreeDelivery::attach(int parent, int child) {
  const auto c = static_cast<std::size_t>(child);
  run_of(c).result.parent = parent == topology::kSource ? "source" : run_of(static_cast<std::size_t>(parent)).node.name;
  if (parent != topology::kSource) {
    const auto p = static_cast<std::size_t>(parent);
    run_of(p).relay->forward(target(child), positions_in(streams_[p].parts, streams_[c].parts));
    return;
  }
  sources_.push_back(std::make_unique<wire::Forwarder>(target(child), token_, streams_[c].size,
                                                       in_.reader.stream(streams_[c].parts)));
  sources_.back()->start();
}

// How far into the whole bundle a member's bytes reach: streams differ, but
// a parent's carries all of its child's, so positions compare.
std::uint64_t TreeDelivery::bundle_position(std::size_t m) const {
  return complete(m) ? in_.prepared.bundle.size() : streams_[m].view->locate(have_[m]).first;
}

std::vector<std::uint64_t> TreeDelivery::bundle_positions() const {
  std::vector<std::uint64_t> out;
  for (std::size_t m = 0; m < members_.size(); ++m) out.push_back(bundle_position(m));
  return out;
}

std::vector<int> TreeDelivery::reparent(std::size_t m) {
  return topology::reparent(plan_, static_cast<int>(m), bundle_positions(), alive_, [this](int p, int c) {
    return contains_parts(streams_[static_cast<std::size_t>(p)].parts, streams_[static_cast<std::size_t>(c)].parts);
  });
}

void TreeDelivery::watch(std::size_t m) {
  NodeRun& run = run_of(m);
  bool relay_ok = true;
  try {
    std::vector<std::string> loaded = run.relay->wait_loaded([this, m] { check_stall(m); });
    verify_and_tag(run, in_.wanted, &loaded);
    run.finish(Outcome::Loaded);
    spdlog::info("{}: loaded and verified ({} bytes over the wire)", run.node.name, run.relay->wire_bytes());
  } catch (const NodeError& e) {
    run.fail(e.step, e.what());
    relay_ok = !e.relay_lost;
  } catch (const std::exception& e) {
    run.fail("", e.what());
    relay_ok = false;
  }
  ++settled_;  // always: the other watchers serve until every member settles
  // A finished node keeps forwarding to its subtree (and may adopt orphans)
  // until every node has settled.
  try {
    if (relay_ok) run.relay->serve_until([this] { return settled_ == members_.size(); });
  } catch (const std::exception& e) {
    spdlog::warn("{}: relay lost after its own load: {}", run.node.name, e.what());
    relay_ok = false;
  }
  if (!relay_ok) lost(m);
}

void TreeDelivery::on_event(std::size_t m, const wire::Json& e) {
  const std::string type = e.value("type", "");
  std::lock_guard<std::mutex> lock(mu_);
  if (type == "progress" || type == "received") {
    std::uint64_t bytes = e.value(type == "progress" ? "received" : "bytes", std::uint64_t{0});
    if (bytes > have_[m]) grew_[m] = Clock::now();
    have_[m] = std::max(have_[m], bytes);
    run_of(m).result.bytes = have_[m];
    run_of(m).status->bytes = have_[m];
    if (type == "received") {
      run_of(m).status->stage = Stage::Loading;
      spdlog::info("{}: received every byte; docker load finishing", run_of(m).node.name);
    }
  } else if (type == "child_failed") {
    spdlog::warn("{}: forwarding to {} failed: {}", run_of(m).node.name, e.value("child", "?"), e.value("message", ""));
  } else if (type == "corrupt") {
    spdlog::warn("{}: the chunk at byte {} from {} failed its XXH3 check; asked for it again", run_of(m).node.name,
                 e.value("offset", std::uint64_t{0}), e.value("peer", "?"));
  } else if (type == "refused") {
    spdlog::warn("{}: refused a connection from {}: {}", run_of(m).node.name, e.value("peer", "?"),
                 e.value("reason", ""));
  }
}

// A node whose bytes stop growing is at fault only if its parent has bytes
// to give and is itself alive; otherwise its parent's own check (or failure)
// moves it.
void TreeDelivery::check_stall(std::size_t m) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto stall = std::chrono::seconds(in_.options.stall_timeout);
  const auto now = Clock::now();
  if (complete(m) || now - grew_[m] < stall) return;
  int p = plan_.parent[m];
  if (p >= 0) {
    auto pi = static_cast<std::size_t>(p);
    bool parent_live = alive_[pi] && (complete(pi) || now - grew_[pi] < stall);
    if (!parent_live || bundle_position(pi) <= bundle_position(m)) return;
  }
  throw NodeError("receive", "no progress for " + std::to_string(in_.options.stall_timeout) + " s", true);
}

void TreeDelivery::lost(std::size_t m) {
  std::lock_guard<std::mutex> lock(mu_);
  alive_[m] = false;
  std::vector<int> orphans = plan_.children[m];
  std::vector<int> parents = reparent(m);
  for (std::size_t i = 0; i < orphans.size(); ++i) {
    auto c = static_cast<std::size_t>(orphans[i]);
    if (complete(c)) continue;  // it holds everything already
    spdlog::warn("{}: lost its parent {}; resuming from {} at byte {}", run_of(c).node.name, run_of(m).node.name,
                 parents[i] == topology::kSource ? "the source" : run_of(static_cast<std::size_t>(parents[i])).node.name,
                 have_[c]);
    grew_[c] = Clock::now();
    attach(parents[i], orphans[i]);
  }
}

}  // namespace treesync
