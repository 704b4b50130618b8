#include "src/tree_delivery.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

namespace treesync {
namespace {

// Threads that wait on relays: one per loading node, up to this many.
constexpr std::size_t kMaxWatchers = 1024;

std::string random_token() {
  unsigned char raw[16];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(raw), sizeof raw)) throw std::runtime_error("cannot read /dev/urandom");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
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
    : runs_(runs), in_(in), token_(random_token()) {
  address_.resize(runs.size());
  port_.resize(runs.size());
}

TreeDelivery::~TreeDelivery() {
  for (auto& f : sources_) f->cancel();
  sources_.clear();
  if (archive_fd_ >= 0) ::close(archive_fd_);
}

std::uint64_t TreeDelivery::run() {
  archive_fd_ = ::open(in_.archive.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (archive_fd_ < 0) throw std::runtime_error("cannot read archive " + in_.archive.path);
  open_receivers();
  start_tree();
  std::vector<int> member_of(runs_.size(), -1);
  for (std::size_t m = 0; m < members_.size(); ++m) member_of[members_[m]] = static_cast<int>(m);
  std::size_t watchers = std::min(runs_.size(), kMaxWatchers);
  for_each_node(runs_, watchers, [&](NodeRun& run) {
    int m = member_of[static_cast<std::size_t>(&run - runs_.data())];
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

// Every loading node opens its listener, with the session token.
void TreeDelivery::open_receivers() {
  std::vector<std::string> address(runs_.size());
  std::vector<int> port(runs_.size(), 0);
  for_each_node(runs_, static_cast<std::size_t>(in_.options.max_workers), [&](NodeRun& run) {
    if (!run.loads()) return;
    std::size_t i = static_cast<std::size_t>(&run - runs_.data());
    address[i] = numeric_address(run.node.host);
    port[i] = run.relay->open_receive(in_.archive.size, address[i], token_);
    run.status->total = in_.archive.size;
    run.status->stage = Stage::Receiving;
    spdlog::debug("{}: listening on {}:{}", run.node.name, address[i], port[i]);
  });
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (!runs_[i].loads()) continue;
    members_.push_back(i);
    address_[members_.size() - 1] = address[i];
    port_[members_.size() - 1] = port[i];
  }
}

// The plan over the nodes that are listening; interior nodes are told their
// children, and the source starts on its own.
void TreeDelivery::start_tree() {
  std::vector<const NodeRun*> loaders;
  for (std::size_t i : members_) loaders.push_back(&runs_[i]);
  std::lock_guard<std::mutex> lock(mu_);
  plan_ = plan_tree(loaders, in_.options.fanout);
  have_.assign(members_.size(), 0);
  grew_.assign(members_.size(), Clock::now());
  alive_.assign(members_.size(), true);
  for (std::size_t m = 0; m < members_.size(); ++m) {
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
  run_of(static_cast<std::size_t>(child)).result.parent =
      parent == topology::kSource ? "source" : run_of(static_cast<std::size_t>(parent)).node.name;
  if (parent != topology::kSource) {
    run_of(static_cast<std::size_t>(parent)).relay->forward({target(child)});
    return;
  }
  int fd = archive_fd_;
  auto read_archive = [fd](std::uint64_t offset, char* buf, std::size_t n) {
    ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (got < 0) throw std::runtime_error("cannot read the archive");
    return static_cast<std::size_t>(got);
  };
  sources_.push_back(std::make_unique<wire::Forwarder>(target(child), token_, in_.archive.size, read_archive));
  sources_.back()->start();
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
  if (have_[m] >= in_.archive.size || now - grew_[m] < stall) return;
  int p = plan_.parent[m];
  if (p >= 0) {
    auto pi = static_cast<std::size_t>(p);
    bool parent_live = alive_[pi] && (have_[pi] >= in_.archive.size || now - grew_[pi] < stall);
    if (!parent_live || have_[pi] <= have_[m]) return;
  }
  throw NodeError("receive", "no progress for " + std::to_string(in_.options.stall_timeout) + " s", true);
}

void TreeDelivery::lost(std::size_t m) {
  std::lock_guard<std::mutex> lock(mu_);
  alive_[m] = false;
  std::vector<int> orphans = plan_.children[m];
  std::vector<int> parents = topology::reparent(plan_, static_cast<int>(m), have_, alive_);
  for (std::size_t i = 0; i < orphans.size(); ++i) {
    auto c = static_cast<std::size_t>(orphans[i]);
    if (have_[c] >= in_.archive.size) continue;  // it holds everything already
    spdlog::warn("{}: lost its parent {}; resuming from {} at byte {}", run_of(c).node.name, run_of(m).node.name,
                 parents[i] == topology::kSource ? "the source" : run_of(static_cast<std::size_t>(parents[i])).node.name,
                 have_[c]);
    grew_[c] = Clock::now();
    attach(parents[i], orphans[i]);
  }
}

}  // namespace treesync
