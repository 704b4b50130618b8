#include "relay/relay_session.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include "src/runtime/docker.h"
#include "src/wire/net.h"

namespace relay {
namespace {

constexpr auto kTickEvery = std::chrono::seconds(1);
// A port scanned or flooded must not flood the source in turn.
constexpr auto kRefusedReportEvery = std::chrono::seconds(1);

}  // namespace

RelaySession::RelaySession(int in_fd, int out_fd, std::string workdir, std::string spool_dir,
                           const std::atomic<bool>& stop)
    : in_fd_(in_fd), out_fd_(out_fd), workdir_(std::move(workdir)), spool_dir_(std::move(spool_dir)), stop_(stop) {}

RelaySession::~RelaySession() { stop_receive(); }

// Order matters: wake every blocked thread (spool readers, sockets), join
// them, and only then let the receiver kill docker load and remove the spool.
void RelaySession::stop_receive() {
  closing_ = true;
  {
    std::lock_guard<std::mutex> lock(tick_mu_);
    ticking_ = false;
  }
  tick_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (receiver_) receiver_->cancel();
  for (auto& s : senders_) s->cancel();
  if (listener_) listener_->close();  // joins serve_parent, so parent_ is gone
  if (loader_.joinable()) loader_.join();
  senders_.clear();
  listener_.reset();
  receiver_.reset();
}

void RelaySession::run() {
  send(wire::Hello{::getpid()});
  wire::FrameReader reader;
  std::string buf(1 << 16, '\0');
  while (!stop_) {
    ssize_t n = ::read(in_fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the control channel closed: we are done
    reader.feed(buf.data(), static_cast<std::size_t>(n));
    try {
      while (auto frame = reader.next()) {
        if (frame->kind != wire::Kind::Message) throw wire::Error("data on the control channel");
        handle(frame->json());
      }
    } catch (const wire::Error& e) {  // the stream is out of step: nothing after this can be trusted
      send_error("protocol", e.what());
      return;
    }
  }
}

void RelaySession::handle(const wire::Json& msg) {
  const std::string type = wire::type_of(msg);
  try {
    if (type == wire::ProbeRequest::kType) {
      auto req = wire::from_message<wire::ProbeRequest>(msg);
      send(runtime::probe_docker(req.images, spool_dir_, req.layers));
    } else if (type == wire::ReceiveRequest::kType) {
      start_receive(wire::from_message<wire::ReceiveRequest>(msg));
    } else if (type == wire::ExpectParent::kType) {
      expect_parent(wire::from_message<wire::ExpectParent>(msg));
    } else if (type == wire::ForwardRequest::kType) {
      start_forwarding(wire::from_message<wire::ForwardRequest>(msg));
    } else if (type == wire::TagRequest::kType) {
      auto req = wire::from_message<wire::TagRequest>(msg);
      for (const auto& ref : req.refs) runtime::tag_image(req.id, ref);
      send(wire::Tagged{req.id});
    } else {
      send_error("protocol", "unknown message type '" + type + "'");
    }
  } catch (const std::exception& e) {
    send_error(type.empty() ? "protocol" : type, e.what());
  }
}

void RelaySession::start_receive(const wire::ReceiveRequest& req) {
  stop_receive();
  closing_ = false;
  received_ = false;
  wire_bytes_ = 0;
  receiver_ = std::make_unique<Receiver>(workdir_, req, [this](std::size_t i, std::uint64_t at) { bad_part(i, at); });
  start_ticker();
  listener_ = std::make_unique<Listener>(
      req.listen, req.parent_key,
      [this] {
        std::lock_guard<std::mutex> lock(rx_mu_);
        return receiver_->received();
      },
      [this](wire::Socket& s, const std::string& peer, wire::FrameReader& in) { serve_parent(s, peer, in); },
      [this](const std::string& peer, const std::string& reason) { refused(peer, reason); });
  send(wire::Listening{listener_->port()});
  std::lock_guard<std::mutex> lock(rx_mu_);
  if (receiver_->complete()) finish_receive();  // an empty stream
}

// The source moved us to another parent: the key changes, and whoever feeds
// us now (the old parent) is cut off.
void RelaySession::expect_parent(const wire::ExpectParent& req) {
  if (!listener_) throw std::runtime_error("expect_parent before receive");
  listener_->expect(req.key);
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (parent_) parent_->shutdown();
  }
  send(wire::ParentExpected{req.key});
}

void RelaySession::start_forwarding(const wire::ForwardRequest& req) {
  if (!receiver_) throw std::runtime_error("forward before receive");
  Spool& spool = receiver_->spool();
  for (const auto& child : req.children) {
    // The child gets only the parts its subtree needs, in our stream's order.
    auto view = std::make_shared<const wire::PartView>(receiver_->parts(), child.parts);
    auto reader = wire::view_reader(view, [&spool](std::uint64_t offset, char* buf, std::size_t n) {
      return spool.read(offset, buf, n);
    });
    auto done = [this](const wire::Sender& s) {
      if (closing_) return;
      if (s.ok())
        send(wire::Forwarded{s.target().name, s.sent()});
      else
        send(wire::ChildFailed{s.target().name, s.error()});
    };
    senders_.push_back(std::make_unique<wire::Sender>(wire::Target{child.name, child.address, child.port}, child.key,
                                                      view->size(), reader, done));
    senders_.back()->start();
  }
  send(wire::Forwarding{senders_.size()});
}

// A newer authenticated parent replaces the current one; either resumes
// where the spool ends.
void RelaySession::serve_parent(wire::Socket& sock, const std::string& peer, wire::FrameReader& in) {
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (parent_) parent_->shutdown();
    parent_ = &sock;
    parent_peer_ = peer;
    if (receiver_->complete()) {  // a new parent after we got everything
      parent_ = nullptr;
      return;
    }
  }
  bool closed = false;
  while (!closing_ && !closed) {
    auto frame = sock.read_frame(in, 1000, &closed);
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (parent_ != &sock) return;  // replaced, or cut off after a bad part
    if (!frame) continue;
    if (frame->kind != wire::Kind::Data) continue;  // the sender has nothing to tell us
    wire_bytes_ += frame->body.size();
    if (frame->offset != receiver_->received()) continue;  // stale after a resume
    if (!frame->intact()) {
      send(wire::Corrupt{frame->offset, peer});
      sock.write_all(wire::encode(wire::Resume{receiver_->received()}));
      continue;
    }
    try {
      receiver_->accept(*frame);
    } catch (const FeedFailed& e) {
      send_error(e.step, e.what());
      parent_ = nullptr;
      return;
    } catch (const std::exception& e) {
      send_error("receive", e.what());
      parent_ = nullptr;
      return;
    }
    if (receiver_->complete()) {
      parent_ = nullptr;
      sock.shutdown();  // tells the parent we hold every byte
      finish_receive();
      return;
    }
  }
  std::lock_guard<std::mutex> lock(rx_mu_);
  if (parent_ == &sock) parent_ = nullptr;
}

void RelaySession::bad_part(std::size_t index, std::uint64_t start) {
  std::string peer;
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    receiver_->spool().rewind(start);
    if (parent_) parent_->shutdown();
    parent_ = nullptr;
    peer = parent_peer_;
  }
  send(wire::BadPart{receiver_->parts()[index].digest, peer, start});
}

void RelaySession::refused(const std::string& peer, const std::string& reason) {
  std::fprintf(stderr, "treesync-relay: refused a connection from %s: %s\n", peer.c_str(), reason.c_str());
  std::lock_guard<std::mutex> lock(refused_mu_);
  ++refused_count_;
  refused_peer_ = peer;
  refused_reason_ = reason;
  auto now = std::chrono::steady_clock::now();
  if (now - refused_reported_ >= kRefusedReportEvery) report_refused(now);  // else the ticker will
}

void RelaySession::report_refused(std::chrono::steady_clock::time_point now) {
  refused_reported_ = now;
  refused_reported_count_ = refused_count_;
  send(wire::Refused{refused_peer_, refused_reason_, refused_count_});
}

void RelaySession::finish_receive() {
  if (received_) return;
  received_ = true;
  Receiver* r = receiver_.get();
  send(wire::Received{r->received()});
  loader_ = std::thread([this, r] {
    LoadResult result = r->finish();
    {
      std::lock_guard<std::mutex> lock(tick_mu_);
      loading_ = false;
    }
    if (closing_) return;
    if (result.ok)
      send(wire::Loaded{result.ids, r->received(), wire_bytes_.load()});
    else
      send_error(result.step, result.error);
  });
}

void RelaySession::start_ticker() {
  ticking_ = loading_ = true;
  ticker_ = std::thread([this, r = receiver_.get()] {
    std::unique_lock<std::mutex> lock(tick_mu_);
    while (!tick_cv_.wait_for(lock, kTickEvery, [this] { return !ticking_; })) {
      if (loading_) send(wire::Progress{r->received(), r->complete()});
      // The tail of a burst of refusals, which the rate limit held back.
      std::lock_guard<std::mutex> refused_lock(refused_mu_);
      auto now = std::chrono::steady_clock::now();
      if (refused_count_ > refused_reported_count_ && now - refused_reported_ >= kRefusedReportEvery)
        report_refused(now);
    }
  });
}

template <typename M>
void RelaySession::send(const M& msg) {
  std::string bytes = wire::encode(msg);
  std::lock_guard<std::mutex> lock(out_mu_);
  wire::write_fully(out_fd_, bytes.data(), bytes.size());
}

void RelaySession::send_error(const std::string& step, const std::string& message) {
  send(wire::ErrorReply{step, message});
}

}  // namespace relay
