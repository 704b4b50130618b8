#include "src/delivery.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <mutex>

#include "relay/forwarder.h"

namespace treesync {
namespace {

// Tree mode keeps every loading node's relay waiting at once; cap the
// threads that wait on them.
constexpr std::size_t kMaxWaiters = 512;

void finish_without_load(NodeRun& run, const std::vector<WantedImage>& wanted) {
  if (run.decision.action == Action::Skip) {
    run.finish(Outcome::Skipped);
  } else {
    verify_and_tag(run, wanted, nullptr);
    run.finish(Outcome::Tagged);
  }
}

void finish_load(NodeRun& run, const std::vector<WantedImage>& wanted) {
  std::vector<std::string> loaded = run.relay->wait_loaded([&run](std::uint64_t n) { run.result.bytes = n; });
  verify_and_tag(run, wanted, &loaded);
  run.finish(Outcome::Loaded);
  spdlog::info("{}: loaded and verified", run.node.name);
}

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

std::uint64_t deliver_flat(std::vector<NodeRun>& runs, const DeliveryInput& in) {
  std::atomic<std::uint64_t> source_bytes{0};
  for_each_node(runs, static_cast<std::size_t>(in.options.max_workers), [&](NodeRun& run) {
    if (!run.loads()) return finish_without_load(run, in.wanted);
    spdlog::info("{}: sending {}", run.node.name, human_bytes(in.archive.size));
    std::uint64_t before = 0;
    run.relay->send_archive(in.archive.path, in.archive.size, [&](std::uint64_t n) {
      run.result.bytes = n;
      source_bytes += n - before;
      before = n;
    });
    finish_load(run, in.wanted);
  });
  return source_bytes;
}

topology::Plan plan_tree(const std::vector<const NodeRun*>& loaders, int fanout) {
  std::vector<topology::Node> nodes;
  for (const NodeRun* r : loaders) nodes.push_back({r->node.name, r->node.zone});
  return topology::tree_plan(nodes, fanout);
}

std::uint64_t deliver_tree(std::vector<NodeRun>& runs, const DeliveryInput& in) {
  const std::string token = random_token();
  std::vector<std::string> address(runs.size());
  std::vector<int> port(runs.size(), 0);
  const std::size_t waiters = std::min(runs.size(), kMaxWaiters);

  // 1. Every loading node listens for its parent, with the session token.
  for_each_node(runs, static_cast<std::size_t>(in.options.max_workers), [&](NodeRun& run) {
    if (!run.loads()) return;
    std::size_t i = static_cast<std::size_t>(&run - runs.data());
    address[i] = numeric_address(run.node.host);
    port[i] = run.relay->open_receive(in.archive.size, address[i], token);
  });

  // 2. The tree over the nodes that are ready.
  std::vector<std::size_t> members;
  std::vector<const NodeRun*> loaders;
  for (std::size_t i = 0; i < runs.size(); ++i)
    if (runs[i].loads()) {
      members.push_back(i);
      loaders.push_back(&runs[i]);
    }
  topology::Plan plan = plan_tree(loaders, in.options.fanout);
  auto target = [&](int member) {
    std::size_t i = members[static_cast<std::size_t>(member)];
    return wire::Target{runs[i].node.name, address[i], port[i]};
  };

  // 3. Interior nodes forward to their children.
  std::vector<NodeRun*> interior;
  for (std::size_t m = 0; m < members.size(); ++m) {
    if (plan.children[m].empty()) continue;
    std::vector<wire::Target> children;
    for (int c : plan.children[m]) children.push_back(target(c));
    NodeRun& run = runs[members[m]];
    try {
      run.relay->forward(children);
    } catch (const NodeError& e) {
      run.fail(e.step, e.what());
    }
  }

  // 4. The source streams to its own children only.
  int fd = ::open(in.archive.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot read archive " + in.archive.path);
  auto read_archive = [fd](std::uint64_t offset, char* buf, std::size_t n) {
    ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (got < 0) throw std::runtime_error("cannot read the archive");
    return static_cast<std::size_t>(got);
  };
  std::vector<std::unique_ptr<wire::Forwarder>> sources;
  for (int c : plan.source_children) {
    sources.push_back(std::make_unique<wire::Forwarder>(target(c), token, in.archive.size, read_archive));
    sources.back()->start();
  }

  // 5. Every node reports its load; verify and tag each one.
  for_each_node(runs, waiters, [&](NodeRun& run) {
    if (!run.loads()) return finish_without_load(run, in.wanted);
    finish_load(run, in.wanted);
  });

  std::uint64_t sent = 0;
  for (auto& f : sources) {
    if (!f->finished()) f->cancel();
    f->join();
    if (!f->ok()) spdlog::warn("source -> {}: {}", f->target().name, f->error());
    sent += f->sent();
  }
  ::close(fd);
  return sent;
}

void print_plan(std::ostream& out, const std::vector<NodeRun>& runs, const std::string& mode, int fanout) {
  std::vector<const NodeRun*> loaders;
  for (const auto& r : runs)
    if (r.loads()) loaders.push_back(&r);
  if (mode == "tree") {
    topology::Plan plan = plan_tree(loaders, fanout);
    out << "plan: tree, fanout " << fanout << ", depth " << plan.depth() << ", " << loaders.size()
        << " node(s) load\n  source\n";
    std::vector<std::pair<int, int>> stack;  // (member, depth), depth-first
    for (auto it = plan.source_children.rbegin(); it != plan.source_children.rend(); ++it) stack.push_back({*it, 1});
    while (!stack.empty()) {
      auto [m, depth] = stack.back();
      stack.pop_back();
      const NodeRun* r = loaders[static_cast<std::size_t>(m)];
      out << "  " << std::string(static_cast<std::size_t>(depth) * 2, ' ') << r->node.name << " (" << r->node.host
          << (r->node.zone.empty() ? "" : ", zone " + r->node.zone) << ")\n";
      const auto& kids = plan.children[static_cast<std::size_t>(m)];
      for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, depth + 1});
    }
  } else {
    out << "plan: flat, " << loaders.size() << " node(s) load, the source sends to each\n";
    for (const NodeRun* r : loaders) out << "    " << r->node.name << " (" << r->node.host << ")\n";
  }
  for (const auto& r : runs) {
    if (r.failed())
      out << "  " << r.node.name << ": failed at " << r.result.step << ": " << r.result.reason << "\n";
    else if (!r.loads())
      out << "  " << r.node.name << ": " << action_name(r.decision.action) << "\n";
  }
}

}  // namespace treesync
