#include "relay/relay_session.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include "src/runtime/docker.h"
#include "src/runtime/subprocess.h"

namespace relay {
namespace {

constexpr auto kTickEvery = std::chrono::seconds(1);
constexpr int kHelloTimeoutMs = 10000;

}  // namespace

RelaySession::RelaySession(int in_fd, int out_fd, std::string workdir, std::string spool_dir,
                           const std::atomic<bool>& stop)
    : in_fd_(in_fd), out_fd_(out_fd), workdir_(std::move(workdir)), spool_dir_(std::move(spool_dir)), stop_(stop) {}

RelaySession::~RelaySession() { shutdown_network(); }

// Order matters: wake every blocked thread (spool readers, sockets), join
// them, and only then let the receiver kill docker load and remove the spool.
void RelaySession::shutdown_network() {
  closing_ = true;
  {
    std::lock_guard<std::mutex> lock(tick_mu_);
    ticking_ = false;
  }
  tick_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (receiver_) receiver_->cancel();
  for (auto& f : forwarders_) f->cancel();
  listener_.shutdown();
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (upstream_) upstream_->shutdown();
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& t : upstream_threads_) t.join();
  upstream_threads_.clear();
  if (loader_.joinable()) loader_.join();
  forwarders_.clear();
  receiver_.reset();
}

void RelaySession::run() {
  send({{"type", "hello"}, {"pid", ::getpid()}});
  wire::FrameReader reader;
  std::string buf(1 << 16, '\0');
  while (!stop_) {
    ssize_t n = ::read(in_fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the control channel closed: we are done
    reader.feed(buf.data(), static_cast<std::size_t>(n));
    while (auto frame = reader.next()) {
      if (frame->kind == wire::Kind::Data)
        handle_chunk(*frame);
      else
        handle_message(frame->json());
    }
  }
}

void RelaySession::handle_message(const wire::Json& msg) {
  std::string type = msg.value("type", "");
  try {
    if (type == "probe") {
      send(runtime::probe_docker(msg.at("images").get<std::vector<std::string>>(), spool_dir_, msg.value("layers", false)));
    } else if (type == "receive") {
      start_receive(msg);
    } else if (type == "forward") {
      start_forwarding(msg);
    } else if (type == "tag") {
      std::string id = msg.at("id");
      for (const auto& ref : msg.at("refs")) runtime::tag_image(id, ref.get<std::string>());
      send({{"type", "tagged"}, {"id", id}});
    } else {
      send_error("protocol", "unknown message type '" + type + "'");
    }
  } catch (const std::exception& e) {
    send_error(type.empty() ? "protocol" : type, e.what());
  }
}

// "receive" {parts, load} takes the stream as data frames on this channel
// (flat); with {listen, token} it takes it from whoever connects with the
// token.
void RelaySession::start_receive(const wire::Json& msg) {
  shutdown_network();
  closing_ = false;
  discarding_ = false;
  wire_bytes_ = 0;
  parts_ = wire::parts_from_json(msg.at("parts"));
  receiver_ = std::make_unique<Receiver>(workdir_, parts_, msg.at("load").get<std::vector<std::size_t>>());
  start_ticker();
  if (!msg.contains("listen")) {
    if (receiver_->complete()) finish_receive();
    return;
  }
  token_ = msg.at("token").get<std::string>();
  int port = 0;
  listener_ = wire::listen_tcp(msg.at("listen").get<std::string>(), &port);
  acceptor_ = std::thread([this] { accept_upstreams(); });
  send({{"type", "listening"}, {"port", port}});
}

void RelaySession::start_forwarding(const wire::Json& msg) {
  if (!receiver_) throw std::runtime_error("forward before receive");
  Spool& spool = receiver_->spool();
  for (const auto& child : msg.at("children")) {
    wire::Target t{child.at("name"), child.at("address"), child.at("port")};
    // The child gets only the parts its subtree needs, in our stream's order.
    auto view = std::make_shared<const wire::PartView>(parts_, child.at("parts").get<std::vector<std::size_t>>());
    auto reader = wire::view_reader(view, [&spool](std::uint64_t offset, char* buf, std::size_t n) {
      return spool.read(offset, buf, n);
    });
    auto done = [this](const wire::Forwarder& f) {
      if (closing_) return;
      if (f.ok())
        send({{"type", "forwarded"}, {"child", f.target().name}, {"bytes", f.sent()}});
      else
        send({{"type", "child_failed"}, {"child", f.target().name}, {"message", f.error()}});
    };
    forwarders_.push_back(std::make_unique<wire::Forwarder>(t, token_, view->size(), reader, done));
    forwarders_.back()->start();
  }
  send({{"type", "forwarding"}, {"children", forwarders_.size()}});
}

void RelaySession::handle_chunk(const wire::Frame& frame) {
  std::lock_guard<std::mutex> lock(rx_mu_);
  wire_bytes_ += frame.body.size();
  if (discarding_) return;
  if (!receiver_) {
    send_error("receive", "data arrived before a receive request");
    discarding_ = true;
    return;
  }
  try {
    receiver_->accept(frame);
  } catch (const std::exception& e) {
    send_error("receive", e.what());
    receiver_.reset();  // kills docker load and removes the spool
    discarding_ = true;
    return;
  }
  if (receiver_->complete()) finish_receive();
}

void RelaySession::accept_upstreams() {
  while (!closing_) {
    wire::Socket s = wire::accept_tcp(listener_);
    if (!s) return;
    upstream_threads_.emplace_back([this, sock = std::move(s)]() mutable { serve_upstream(std::move(sock)); });
  }
}

// One connection from a parent. A newer authenticated one (a new parent
// after a failure) replaces it; either resumes where the spool ends.
void RelaySession::serve_upstream(wire::Socket sock) {
  const std::string peer = wire::peer_address(sock);
  wire::FrameReader in;
  auto hello = sock.read_frame(in, kHelloTimeoutMs);
  wire::Json h = hello && hello->kind == wire::Kind::Message ? hello->json() : wire::Json::object();
  if (h.value("type", "") != "hello" || !wire::same_token(h.value("token", ""), token_)) {
    std::fprintf(stderr, "treesync-relay: refused a connection from %s: no valid session token\n", peer.c_str());
    send({{"type", "refused"}, {"peer", peer}, {"reason", "no valid session token"}});
    return;
  }
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (upstream_) upstream_->shutdown();
    upstream_ = &sock;
    sock.send_message({{"type", "resume"}, {"offset", receiver_->received()}});
    if (receiver_->complete()) {  // a new parent after we got everything
      upstream_ = nullptr;
      return;
    }
  }
  bool closed = false;
  while (!closing_ && !closed) {
    auto frame = sock.read_frame(in, 1000, &closed);
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (upstream_ != &sock) return;  // replaced by a newer parent
    if (!frame) continue;
    if (frame->kind == wire::Kind::Data) wire_bytes_ += frame->body.size();
    if (frame->kind != wire::Kind::Data || frame->offset != receiver_->received()) continue;  // stale after a resume
    if (!frame->intact()) {
      send({{"type", "corrupt"}, {"offset", frame->offset}, {"peer", peer}});
      sock.send_message({{"type", "resume"}, {"offset", receiver_->received()}});
      continue;
    }
    try {
      receiver_->accept(*frame);
    } catch (const std::exception& e) {
      send_error("receive", e.what());
      upstream_ = nullptr;
      return;
    }
    if (receiver_->complete()) {
      upstream_ = nullptr;
      sock.shutdown();  // tells the parent we hold every byte
      finish_receive();
      return;
    }
  }
  std::lock_guard<std::mutex> lock(rx_mu_);
  if (upstream_ == &sock) upstream_ = nullptr;
}

void RelaySession::finish_receive() {
  Receiver* r = receiver_.get();
  send({{"type", "received"}, {"bytes", r->received()}});
  loader_ = std::thread([this, r] {
    LoadResult result = r->finish();
    {
      std::lock_guard<std::mutex> lock(tick_mu_);
      ticking_ = false;
    }
    tick_cv_.notify_all();
    if (closing_) return;
    if (result.ok)
      send({{"type", "loaded"}, {"ids", result.ids}, {"received", r->received()}, {"wire_bytes", wire_bytes_.load()}});
    else
      send_error("load", result.error);
  });
}

void RelaySession::start_ticker() {
  ticking_ = true;
  ticker_ = std::thread([this, r = receiver_.get()] {
    std::unique_lock<std::mutex> lock(tick_mu_);
    while (!tick_cv_.wait_for(lock, kTickEvery, [this] { return !ticking_; }))
      send({{"type", "progress"}, {"received", r->received()}, {"complete", r->complete()}});
  });
}

void RelaySession::send(const wire::Json& msg) {
  std::string bytes = wire::encode_message(msg);
  std::lock_guard<std::mutex> lock(out_mu_);
  wire::write_fully(out_fd_, bytes.data(), bytes.size());
}

void RelaySession::send_error(const std::string& step, const std::string& message) {
  send({{"type", "error"}, {"step", step}, {"message", message}});
}

}  // namespace relay
